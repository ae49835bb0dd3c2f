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

    var address = document.getElementById("address");
    var find = document.getElementById("find-address");
    var places = document.getElementById("places");
    function findPlaces() {
      while (places.firstChild) { places.removeChild(places.firstChild); }
      fetch(opts.placesUrl + "?" + new URLSearchParams({ q: address.value }), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { places: [] }; })
        .then(function (data) {
          var found = data.places || [];
          if (!found.length) {
            var none = document.createElement("li");
            none.className = "small text-muted";
            none.textContent = opts.labels.noPlace;
            places.appendChild(none);
          }
          found.forEach(function (p) {
            var li = document.createElement("li");
            var b = document.createElement("button");
            b.type = "button";
            b.className = "btn btn-link btn-sm p-0 text-start";
            b.textContent = p.label;
            b.addEventListener("click", function () {
              setPoint(L.latLng(p.lat, p.lon), true);
              while (places.firstChild) { places.removeChild(places.firstChild); }
            });
            li.appendChild(b);
            places.appendChild(li);
          });
        })
        .catch(function (err) { console.warn("OVA places", err.message); });
    }
    if (find && address && places) {
      find.addEventListener("click", findPlaces);
      address.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); findPlaces(); } });
    }

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
