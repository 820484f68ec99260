// The map tab of an element: the element and its related elements (children, POIs) as markers.
// Data: <div id="element-map" data-tile-url data-lat data-lon data-zoom> and
// <script type="application/json" id="element-map-points">[{name, kind, lat, lon, url, main}]</script>.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("element-map");
  const data = document.getElementById("element-map-points");
  if (!el || !data || typeof L === "undefined") return;
  const points = JSON.parse(data.textContent || "[]");
  const map = L.map(el, { scrollWheelZoom: false });
  L.tileLayer(el.dataset.tileUrl, {
    maxZoom: 19,
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
  }).addTo(map);
  const bounds = [];
  for (const p of points) {
    const marker = L.marker([p.lat, p.lon], { title: p.name, alt: p.name, opacity: p.main ? 1 : 0.8 });
    const link = document.createElement("a");
    link.href = p.url;
    link.textContent = p.name;
    marker.bindPopup(link);
    marker.addTo(map);
    bounds.push([p.lat, p.lon]);
  }
  if (bounds.length > 1) {
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
  } else if (bounds.length === 1) {
    map.setView(bounds[0], 15);
  } else {
    map.setView([Number(el.dataset.lat), Number(el.dataset.lon)], Number(el.dataset.zoom) || 10);
  }
  el.classList.add("map-ready");
});
