// Search page map (progressive enhancement; the page works without it): clustered markers for the results
// listed on the page, list and markers in sync, "Search this area" (re-runs the GET search with bbox), and
// the "Around me" button of the search and agenda forms (browser geolocation fills lat/lon).
"use strict";
(() => {
  const ACTIVE = "is-active";

  function aroundMe() {
    const button = document.getElementById("around-me");
    if (!button || !navigator.geolocation) return;
    const status = document.getElementById("around-me-status");
    const form = button.form || button.closest("form");
    button.hidden = false;
    button.addEventListener("click", () => {
      if (status) status.textContent = button.dataset.locating || "";
      navigator.geolocation.getCurrentPosition(
        (position) => {
          form.elements.lat.value = position.coords.latitude.toFixed(5);
          form.elements.lon.value = position.coords.longitude.toFixed(5);
          if (form.elements.place) form.elements.place.value = "";
          if (form.elements.radius_km && !form.elements.radius_km.value) form.elements.radius_km.value = "10";
          if (form.elements.bbox) form.elements.bbox.value = "";
          form.submit();
        },
        () => { if (status) status.textContent = button.dataset.failed || ""; },
        { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 },
      );
    });
  }

  function readPoints() {
    const data = document.getElementById("search-results");
    if (!data) return [];
    try { return JSON.parse(data.textContent) || []; } catch (e) { return []; }
  }

  function searchMap() {
    const el = document.getElementById("search-map");
    if (!el || typeof L === "undefined") return;
    const map = L.map(el, { scrollWheelZoom: false });
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
    const cluster = typeof L.markerClusterGroup === "function"
      ? L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 })
      : L.featureGroup();
    const markers = new Map();
    for (const point of readPoints()) {
      if (typeof point.lat !== "number" || typeof point.lon !== "number") continue;
      const icon = L.divIcon({ className: `search-marker kind-${point.kind}`, html: "<span></span>", iconSize: [22, 22] });
      const marker = L.marker([point.lat, point.lon], { icon, title: point.name, alt: point.name, keyboard: true });
      const popup = document.createElement("div");
      const link = document.createElement("a");
      link.href = point.url;
      link.textContent = point.name;
      const kind = document.createElement("div");
      kind.textContent = point.kindLabel + (point.locality ? ` · ${point.locality}` : "");
      popup.append(link, kind);
      marker.bindPopup(popup);
      marker.on("click", () => focusItem(point.id));
      markers.set(point.id, marker);
      cluster.addLayer(marker);
    }
    map.addLayer(cluster);

    // The view: the searched box, else the results, else the circle searched, else the territory.
    const bbox = (el.dataset.bbox || "").split(",").map(Number);
    const centre = [Number(el.dataset.lat), Number(el.dataset.lon)];
    if (bbox.length === 4 && bbox.every(Number.isFinite)) {
      map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]);
    } else if (markers.size) {
      map.fitBounds(cluster.getBounds(), { padding: [24, 24], maxZoom: 15 });
    } else if (el.dataset.point) {
      const [lat, lon] = el.dataset.point.split(",").map(Number);
      const circle = L.circle([lat, lon], { radius: 1000 * Number(el.dataset.radiusKm || 5) });
      map.fitBounds(circle.getBounds());
    } else {
      map.setView(centre, Number(el.dataset.zoom) || 10);
    }
    if (el.dataset.point) {
      const [lat, lon] = el.dataset.point.split(",").map(Number);
      if (el.dataset.radiusKm) L.circle([lat, lon], { radius: 1000 * Number(el.dataset.radiusKm), fill: false, weight: 1 }).addTo(map);
    }

    // List ⇄ markers.
    let lit = null;
    function highlight(id, on) {
      const marker = markers.get(id);
      if (!marker) return;
      const visible = cluster.getVisibleParent ? cluster.getVisibleParent(marker) : marker;
      const target = visible && visible.getElement ? visible.getElement() : null;
      if (lit && lit !== target) lit.classList.remove(ACTIVE);
      lit = on ? target : null;
      if (target) target.classList.toggle(ACTIVE, on);
    }
    function focusItem(id) {
      const item = document.getElementById(id);
      if (!item) return;
      for (const other of document.querySelectorAll(`.hit.${ACTIVE}`)) other.classList.remove(ACTIVE);
      item.classList.add(ACTIVE);
      item.scrollIntoView({ block: "nearest", behavior: "smooth" });
      item.focus({ preventScroll: true });
    }
    for (const item of document.querySelectorAll("[data-testid='search-result']")) {
      const id = item.id;
      if (!markers.has(id)) continue;
      item.addEventListener("mouseenter", () => highlight(id, true));
      item.addEventListener("mouseleave", () => highlight(id, false));
      item.addEventListener("focusin", () => highlight(id, true));
      item.addEventListener("focusout", () => highlight(id, false));
      const show = document.createElement("button");
      show.type = "button";
      show.className = "link show-on-map";
      show.dataset.testid = "show-on-map";
      show.textContent = el.dataset.showLabel || "Map";
      show.addEventListener("click", () => {
        const marker = markers.get(id);
        const open = () => { marker.openPopup(); highlight(id, true); };
        if (cluster.zoomToShowLayer) cluster.zoomToShowLayer(marker, open); else open();
        el.scrollIntoView({ block: "nearest" });
      });
      const meta = item.querySelector(".hit-meta");
      (meta || item).append(" ", show);
    }

    // "Search this area": the same query in the map's bounds (a plain GET navigation).
    const area = document.getElementById("search-this-area");
    if (area) {
      area.hidden = false;
      area.addEventListener("click", () => {
        const b = map.getBounds();
        const clamp = (v, lim) => Math.max(-lim, Math.min(lim, v));
        const box = [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90)]
          .map((v) => v.toFixed(5)).join(",");
        const url = new URL(area.dataset.url, window.location.href);
        url.searchParams.set("bbox", box);
        window.location.assign(url.toString());
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => { aroundMe(); searchMap(); });
})();
