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

    var address = document.getElementById("address");
    var find = document.getElementById("find-address");
    var places = document.getElementById("places");
    var found = document.getElementById("places-status");
    var nearest = document.getElementById("nearest-address");
    // The address field was filled by the portal (a suggestion or the nearest address of a click):
    // a later click may replace it; text the visitor typed is never overwritten.
    var autoFilled = false;

    // The status line names the place: the chosen label, else the coordinates of the click.
    function setPoint(latlng, pan, label) {
      lat.value = latlng.lat.toFixed(6);
      lon.value = latlng.lng.toFixed(6);
      if (!marker) {
        marker = L.circleMarker(latlng, { radius: 9, color: "#c00000", fillOpacity: 0.7 }).addTo(map);
      } else {
        marker.setLatLng(latlng);
      }
      if (pan) { map.setView(latlng, Math.max(map.getZoom(), 17)); }
      if (status) { status.textContent = label ? label + " (" + lat.value + ", " + lon.value + ")" : lat.value + ", " + lon.value; }
      showDuplicates();
    }

    function reverseGeocode(latlng) {
      if (!opts.reverseUrl || !nearest) { return; }
      var url = opts.reverseUrl + "?" + new URLSearchParams({ lon: latlng.lng.toFixed(6), lat: latlng.lat.toFixed(6) });
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { features: [] }; })
        .then(function (data) {
          var best = (data.features || [])[0];
          if (!best || best.properties.distance > opts.nearestMaxM) {
            nearest.textContent = opts.labels.noAddress;
            return;
          }
          nearest.textContent = opts.labels.nearest.replace("__LABEL__", best.properties.label)
            .replace("__N__", best.properties.distance);
          if (address && (address.value === "" || autoFilled)) {
            address.value = best.properties.label;
            autoFilled = true;
          }
        })
        .catch(function (err) { console.warn("OVA reverse", err.message); });
    }

    map.on("click", function (e) { setPoint(e.latlng, false); reverseGeocode(e.latlng); });
    if (category) { category.addEventListener("change", showDuplicates); }
    if (lat.value && lon.value) { setPoint(L.latLng(parseFloat(lat.value), parseFloat(lon.value)), true); }

    function clearPlaces() {
      while (places.firstChild) { places.removeChild(places.firstChild); }
    }

    function addChoice(label, latlng, fromAddressBase) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "btn btn-link btn-sm p-0 text-start";
      b.textContent = label;
      b.addEventListener("click", function () {
        setPoint(latlng, true, label);
        if (fromAddressBase) {
          address.value = label;
          autoFilled = true;
          if (nearest) { nearest.textContent = ""; }
        }
        clearPlaces();
        if (found) { found.textContent = ""; }
        // The list is gone with the focused button: go on with the next field of the form.
        var next = document.getElementById("description");
        (next || address).focus();
      });
      li.appendChild(b);
      places.appendChild(li);
    }

    function getJson(url) {
      return fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .catch(function (err) { console.warn("OVA address search", err.message); return {}; });
    }

    // Suggestions: the address base (BAN, /api/adresse/search/), then places known from past
    // reports and quartiers (where the territory has no address file, e.g. Nantes).
    var pending = 0;
    function findPlaces() {
      var q = address.value.trim();
      var ticket = ++pending;
      if (q.length < 3) { clearPlaces(); return; }
      var params = { q: q, limit: 5 };
      if (opts.searchUrl && lat.value && lon.value) { params.lat = lat.value; params.lon = lon.value; }
      Promise.all([
        opts.searchUrl ? getJson(opts.searchUrl + "?" + new URLSearchParams(params)) : Promise.resolve({}),
        getJson(opts.placesUrl + "?" + new URLSearchParams({ q: q }))
      ]).then(function (answers) {
        if (ticket !== pending) { return; }  // a newer query was typed meanwhile
        clearPlaces();
        var seen = {};
        (answers[0].features || []).forEach(function (f) {
          var c = f.geometry.coordinates;
          seen[f.properties.label.toLowerCase()] = true;
          addChoice(f.properties.label, L.latLng(c[1], c[0]), true);
        });
        (answers[1].places || []).forEach(function (p) {
          if (!seen[p.label.toLowerCase()]) { addChoice(p.label, L.latLng(p.lat, p.lon), false); }
        });
        var n = places.childNodes.length;
        if (!n) {
          var none = document.createElement("li");
          none.className = "small text-muted";
          none.textContent = opts.labels.noPlace;
          places.appendChild(none);
        }
        if (found) { found.textContent = opts.labels.found.replace("__N__", n); }
      });
    }
    if (find && address && places) {
      var timer = null;
      find.addEventListener("click", findPlaces);
      address.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); findPlaces(); } });
      address.addEventListener("input", function () {
        autoFilled = false;
        clearTimeout(timer);
        timer = setTimeout(findPlaces, 250);
      });
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
