// Newsfeed enhancements (the pages work without JavaScript): "around me" fills the live filter's point.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("around-me");
  if (!button || !("geolocation" in navigator)) return;
  const status = document.getElementById("around-me-status");
  const lat = document.getElementById("live-lat");
  const lon = document.getElementById("live-lon");
  const radius = document.getElementById("live-radius_km");
  button.hidden = false;
  button.addEventListener("click", () => {
    if (status) status.textContent = button.dataset.locating || "";
    navigator.geolocation.getCurrentPosition(
      (position) => {
        lat.value = position.coords.latitude.toFixed(5);
        lon.value = position.coords.longitude.toFixed(5);
        if (radius && !radius.value) radius.value = "10";
        if (status) status.textContent = "";
        button.form.submit();
      },
      () => { if (status) status.textContent = button.dataset.failed || ""; },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 },
    );
  });
});
