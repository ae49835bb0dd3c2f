/* Portail OVA incident report form: pick the point on the map (or use the device's location),
 * and list possible duplicates before submitting. Every server string is inserted as text. */
(function (global) {
  "use strict";

  function pickPoint(map, opts) {
    var lat = document.getElementById("lat");
    var lon = document.getElementById("lon");
    var category = document.getElementById("category");
    var status = document.getElementById("point-status");
    var list = document.getElementById("duplicates");
    var marker = null;

    fetch(opts.quartiersUrl, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data) {
          L.geoJSON(data, { interactive: false, style: { color: "#000091", weight: 1, fillOpacity: 0.05 } }).addTo(map);
        }
      })
      .catch(function (err) { console.warn("OVA quartiers", err.message); });

    function showDuplicates() {
      if (!list) { return; }
      while (list.firstChild) { list.removeChild(list.firstChild); }
      list.parentNode.hidden = true;
      if (!lat.value || !lon.value || !category.value) { return; }
      var url = opts.duplicatesUrl + "?" + new URLSearchParams({ category: category.value, lat: lat.value, lon: lon.value });
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { duplicates: [] }; })
        .then(function (data) {
          (data.duplicates || []).forEach(function (d) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = d.url;
            a.textContent = "#" + d.id + " · " + d.status_label + " · " + opts.labels.distance.replace("__N__", d.distance_m);
            li.appendChild(a);
            if (d.description) {
              var p = document.createElement("div");
              p.className = "small text-muted";
              p.textContent = d.description;
              li.appendChild(p);
            }
            list.appendChild(li);
          });
          list.parentNode.hidden = !list.firstChild;
        })
        .catch(function (err) { console.warn("OVA duplicates", err.message); });
    }

    function setPoint(latlng, pan) {
      lat.value = latlng.lat.toFixed(6);
      lon.value = latlng.lng.toFixed(6);
      if (!marker) {
        marker = L.circleMarker(latlng, { radius: 9, color: "#c00000", fillOpacity: 0.7 }).addTo(map);
      } else {
        marker.setLatLng(latlng);
      }
      if (pan) { map.setView(latlng, Math.max(map.getZoom(), 16)); }
      if (status) { status.textContent = lat.value + ", " + lon.value; }
      showDuplicates();
    }

    map.on("click", function (e) { setPoint(e.latlng, false); });
    if (category) { category.addEventListener("change", showDuplicates); }
    if (lat.value && lon.value) { setPoint(L.latLng(parseFloat(lat.value), parseFloat(lon.value)), true); }

    var locate = document.getElementById("use-location");
    if (locate) {
      if (!navigator.geolocation) { locate.hidden = true; }
      locate.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          setPoint(L.latLng(pos.coords.latitude, pos.coords.longitude), true);
        }, function (err) { if (status) { status.textContent = err.message; } }, { enableHighAccuracy: true, timeout: 10000 });
      });
    }
  }

  global.OVAIncidents = { pickPoint: pickPoint };
})(window);
