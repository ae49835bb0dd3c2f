/* Portail OVA map helpers: remote GeoJSON layers loaded by URL (never embedded in the page),
 * popups and tooltips built as DOM text so that no user string is ever parsed as HTML. */
(function (global) {
  "use strict";

  function textBlock(title, rows) {
    var root = document.createElement("div");
    root.className = "ova-popup";
    if (title) {
      var h = document.createElement("strong");
      h.textContent = title;
      root.appendChild(h);
    }
    if (rows.length) {
      var dl = document.createElement("dl");
      rows.forEach(function (r) {
        var dt = document.createElement("dt");
        dt.textContent = r[0];
        var dd = document.createElement("dd");
        dd.textContent = r[1] === null || r[1] === undefined ? "—" : String(r[1]);
        dl.appendChild(dt);
        dl.appendChild(dd);
      });
      root.appendChild(dl);
    }
    return root;
  }

  function popupFor(opts, props) {
    var rows = (opts.popupFields || []).map(function (f) { return [f[1], props[f[0]]]; });
    var node = textBlock(props[opts.titleField], rows);
    if (opts.linkTemplate && props[opts.linkField] !== undefined) {
      var a = document.createElement("a");
      a.href = opts.linkTemplate.replace("__ID__", encodeURIComponent(props[opts.linkField]));
      a.textContent = opts.linkLabel || "→";
      node.appendChild(a);
    }
    return node;
  }

  /* Create a Leaflet layer filled from opts.url; returns it at once and fills it when loaded. */
  function remoteGeoJson(map, opts) {
    var group = opts.cluster && L.markerClusterGroup ? L.markerClusterGroup() : L.featureGroup();
    var inner = L.geoJSON(null, {
      style: function () { return opts.style || {}; },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, opts.pointStyle || { radius: 5, weight: 1, fillOpacity: 0.8 });
      },
      onEachFeature: function (feature, layer) {
        var props = feature.properties || {};
        if (opts.tooltipField && props[opts.tooltipField] !== undefined) {
          var tip = document.createElement("span");
          tip.textContent = String(props[opts.tooltipField]);
          layer.bindTooltip(tip, { sticky: true });
        }
        layer.bindPopup(function () { return popupFor(opts, props); });
      }
    });
    if (!opts.cluster) { group.addLayer(inner); }
    var controller = null;

    function load() {
      var url = opts.url;
      if (opts.byBbox) {
        var b = map.getBounds();
        url += (url.indexOf("?") < 0 ? "?" : "&") + "bbox=" +
          [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",");
      }
      if (controller) { controller.abort(); }
      controller = new AbortController();
      group.fire("ova:loading");
      return fetch(url, { signal: controller.signal, headers: { Accept: "application/geo+json" } })
        .then(function (r) {
          if (!r.ok) { throw new Error(r.status + " " + r.statusText); }
          return r.json();
        })
        .then(function (data) {
          inner.clearLayers();
          inner.addData(data);
          if (opts.cluster) { group.clearLayers(); group.addLayer(inner); }
          if (opts.fitBounds && inner.getBounds().isValid()) { map.fitBounds(inner.getBounds()); }
          group.fire("ova:loaded", { count: (data.features || []).length });
        })
        .catch(function (err) {
          if (err.name !== "AbortError") { group.fire("ova:error", { error: err }); console.warn("OVA layer", opts.url, err.message); }
        });
    }

    group.on("add", function () { load(); if (opts.byBbox) { map.on("moveend", load); } });
    group.on("remove", function () { if (opts.byBbox) { map.off("moveend", load); } });
    group.ovaReload = load;
    if (opts.show !== false) { group.addTo(map); }
    return group;
  }

  global.OVA = { remoteGeoJson: remoteGeoJson, textBlock: textBlock };
})(window);
