/* Portail OVA zone editor: draw/edit polygons with Leaflet.draw (local assets); the drawn shapes
 * are serialised as GeoJSON into the form's hidden "geometry" field on submit. */
(function () {
  "use strict";
  var el = document.getElementById("zone-map");
  if (!el || typeof L === "undefined") { return; }
  var map = L.map(el, { preferCanvas: false }).setView([48.8566, 2.3522], 12);
  if (window.OVABasemap) { OVABasemap.fromElement(map); }
  // Framed on the commune's zones (server side), not on every quartier of the territory.
  var home = JSON.parse(el.dataset.bounds || "null");
  if (home) { map.fitBounds(home); }
  var drawn = new L.FeatureGroup().addTo(map);
  var initial = JSON.parse(document.getElementById("zone-geometry").textContent);
  if (initial) {
    L.geoJSON(initial).eachLayer(function (layer) {
      (layer.getLatLngs ? [layer] : []).forEach(function (l) { drawn.addLayer(l); });
    });
  }
  fetch(el.dataset.quartiersUrl, { headers: { Accept: "application/geo+json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data) { return; }
      var q = L.geoJSON(data, { style: { color: "#666", weight: 1, fillOpacity: 0, interactive: false } }).addTo(map);
      q.bringToBack();
      var b = drawn.getLayers().length ? drawn.getBounds() : (home ? null : q.getBounds());
      if (b && b.isValid()) { map.fitBounds(b, { maxZoom: 17 }); }
    })
    .catch(function (err) { console.warn("quartiers", err.message); });
  if (el.dataset.editable === "true") {
    map.addControl(new L.Control.Draw({
      edit: { featureGroup: drawn },
      draw: { polygon: { allowIntersection: false, showArea: false }, rectangle: true,
              polyline: false, circle: false, marker: false, circlemarker: false }
    }));
    map.on(L.Draw.Event.CREATED, function (e) { drawn.addLayer(e.layer); });
  }
  var form = document.getElementById("zone-form");
  if (form) {
    form.addEventListener("submit", function () {
      var fc = drawn.toGeoJSON();
      form.querySelector("input[name=geometry]").value = fc.features.length ? JSON.stringify(fc) : "";
    });
  }
  window.OVAZones = { map: map, drawn: drawn };
})();
