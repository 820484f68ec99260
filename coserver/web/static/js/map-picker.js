// Map picker of the element forms: click the map or drag the marker to fill the lat/lon inputs.
// Markup: <div class="map-picker" id="map-picker" data-tile-url data-lat data-lon data-zoom></div>, and the
// inputs #f-lat / #f-lon (plain visible number inputs without JavaScript; hidden once the map works).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("map-picker");
  const lat = document.getElementById("f-lat");
  const lon = document.getElementById("f-lon");
  if (!el || !lat || !lon || typeof L === "undefined") return;
  el.hidden = false;
  const start = lat.value && lon.value ? [Number(lat.value), Number(lon.value)] : null;
  const map = L.map(el).setView(
    start || [Number(el.dataset.lat), Number(el.dataset.lon)],
    start ? 15 : Number(el.dataset.zoom) || 10,
  );
  L.tileLayer(el.dataset.tileUrl, {
    maxZoom: 19,
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
  }).addTo(map);
  let marker = null;
  const status = document.getElementById("map-picker-status");
  const place = (latlng) => {
    lat.value = latlng.lat.toFixed(6);
    lon.value = latlng.lng.toFixed(6);
    if (status) status.textContent = `${lat.value}, ${lon.value}`;
  };
  const put = (latlng) => {
    if (marker) {
      marker.setLatLng(latlng);
    } else {
      marker = L.marker(latlng, { draggable: true, keyboard: true, title: el.dataset.markerTitle || "" });
      marker.on("dragend", () => place(marker.getLatLng()));
      marker.addTo(map);
    }
    place(latlng);
  };
  if (start) put(L.latLng(start[0], start[1]));
  map.on("click", (event) => put(event.latlng));
  // typing coordinates by hand moves the marker too
  for (const input of [lat, lon]) {
    input.addEventListener("change", () => {
      if (lat.value && lon.value && !Number.isNaN(Number(lat.value)) && !Number.isNaN(Number(lon.value))) {
        const latlng = L.latLng(Number(lat.value), Number(lon.value));
        put(latlng);
        map.setView(latlng, Math.max(map.getZoom(), 14));
      }
    });
  }
  const clear = document.getElementById("map-picker-clear");
  if (clear) {
    clear.hidden = false;
    clear.addEventListener("click", () => {
      if (marker) { marker.remove(); marker = null; }
      lat.value = "";
      lon.value = "";
      if (status) status.textContent = "";
    });
  }
  // the coordinate inputs become visually hidden (still focusable for keyboard users)
  const coords = document.getElementById("coordinate-fields");
  if (coords) coords.classList.add("with-map");
  setTimeout(() => map.invalidateSize(), 0);
});

// Username suggestion: while the user has not typed a username, it follows the name ("Jardin partagé" ->
// "jardin_partage"); the server makes it unique when left empty.
document.addEventListener("DOMContentLoaded", () => {
  const name = document.getElementById("f-name");
  const username = document.querySelector("#f-username[data-from-name]");
  if (!name || !username) return;
  let touched = username.value !== "";
  username.addEventListener("input", () => { touched = username.value !== ""; });
  name.addEventListener("input", () => {
    if (touched) return;
    username.value = name.value
      .normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 40);
  });
});
