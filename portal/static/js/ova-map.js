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

  function display(opts, field, value) {
    if (value === null || value === undefined || value === "") { return value; }
    var labels = (opts.valueLabels || {})[field];
    if (labels && Object.prototype.hasOwnProperty.call(labels, String(value))) { return labels[String(value)]; }
    if ((opts.dateFields || []).indexOf(field) >= 0) {
      var d = new Date(value);
      if (!isNaN(d.getTime())) {
        return d.toLocaleString(document.documentElement.lang || "fr", { dateStyle: "medium", timeStyle: "short" });
      }
    }
    if (typeof value === "number") { return value.toLocaleString(document.documentElement.lang || "fr"); }
    return value;
  }

  function popupFor(opts, props) {
    var rows = (opts.popupFields || []).map(function (f) { return [f[1], display(opts, f[0], props[f[0]])]; });
    var node = textBlock(props[opts.titleField], rows);
    if (opts.linkTemplate && props[opts.linkField] !== undefined) {
      var a = document.createElement("a");
      a.href = opts.linkTemplate.replace("__ID__", encodeURIComponent(props[opts.linkField]));
      a.textContent = opts.linkLabel || "→";
      node.appendChild(a);
    }
    return node;
  }

  /* Show or hide permanent labels by zoom level (a CSS class on the map container). */
  function labelsByZoom(map, minZoom) {
    function update() {
      map.getContainer().classList.toggle("ova-labels-hidden", map.getZoom() < minZoom);
    }
    map.on("zoomend", update);
    map.whenReady(update);
  }

  function setStatus(opts, text) {
    if (!opts.statusElement) { return; }
    var el = document.getElementById(opts.statusElement);
    if (el) { el.textContent = text; }
  }

  /* Create a Leaflet layer filled from opts.url; returns it at once and fills it when loaded. */
  function remoteGeoJson(map, opts) {
    var groupOpts = opts.attribution ? { attribution: opts.attribution } : {};
    var group = opts.cluster && L.markerClusterGroup ? L.markerClusterGroup(L.Util.extend({ maxClusterRadius: 40, disableClusteringAtZoom: 18 }, groupOpts)) : L.featureGroup([], groupOpts);
    var inner = L.geoJSON(null, {
      style: function (f) {
        var style = L.Util.extend({}, opts.style || {});
        if (opts.className) { style.className = opts.className; }
        var props = (f && f.properties) || {};
        if (opts.fillField && props[opts.fillField]) { style.fillColor = props[opts.fillField]; }
        return style;
      },
      pointToLayer: function (f, latlng) {
        var style = L.Util.extend({ radius: 6, weight: 1, fillOpacity: 0.85 }, opts.pointStyle || {});
        if (opts.className) { style.className = opts.className; }
        var props = f.properties || {};
        if (opts.colorField && props[opts.colorField]) { style.fillColor = props[opts.colorField]; style.color = "#222"; }
        return L.circleMarker(latlng, style);
      },
      onEachFeature: function (feature, layer) {
        var props = feature.properties || {};
        if (opts.labelField && props[opts.labelField] !== undefined && props[opts.labelField] !== null) {
          var label = document.createElement("span");
          label.textContent = String(props[opts.labelField]);
          layer.bindTooltip(label, { permanent: true, direction: "center", className: "ova-label" });
          // Labels hidden at small zooms still show for the quartier under the pointer.
          layer.on("mouseover", function () { var el = layer.getTooltip().getElement(); if (el) { el.classList.add("ova-label-show"); } });
          layer.on("mouseout", function () { var el = layer.getTooltip().getElement(); if (el) { el.classList.remove("ova-label-show"); } });
        } else if (opts.tooltipField && props[opts.tooltipField] !== undefined) {
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
          if (opts.fitBounds && inner.getBounds().isValid()) {
            map.fitBounds(inner.getBounds(), { maxZoom: opts.maxZoomFit || 17 });
            opts.fitBounds = false;  // once: later loads (by bbox) must not move the map
          }
          var count = (data.features || []).length;
          var texts = opts.statusTexts || {};
          var msg = (data.truncated ? texts.truncated : texts.loaded) || "";
          setStatus(opts, msg.replace("__N__", count.toLocaleString(document.documentElement.lang || "fr")));
          group.fire("ova:loaded", { count: count, truncated: !!data.truncated });
        })
        .catch(function (err) {
          if (err.name !== "AbortError") { group.fire("ova:error", { error: err }); console.warn("OVA layer", opts.url, err.message); }
        });
    }

    group.on("add", function () { load(); if (opts.byBbox) { map.on("moveend", load); } });
    group.on("remove", function () { if (opts.byBbox) { map.off("moveend", load); } setStatus(opts, ""); });
    if (opts.labelField && opts.labelMinZoom) { labelsByZoom(map, opts.labelMinZoom); }
    group.ovaReload = load;
    if (opts.show !== false) { group.addTo(map); }
    return group;
  }

  /* The text a map feature is announced with: its tooltip, else its popup's title. */
  function featureName(layer) {
    var tip = layer.getTooltip && layer.getTooltip();
    var content = tip && tip.getContent();
    if (content && typeof content !== "function") {
      return (content.textContent !== undefined ? content.textContent : String(content)).trim();
    }
    var popup = layer.getPopup && layer.getPopup();
    if (popup) {
      content = popup.getContent();
      if (typeof content === "function") { content = content(layer); }
      if (content && content.querySelector) {
        var title = content.querySelector("strong");
        return (title || content).textContent.trim();
      }
      if (typeof content === "string") {
        var tmp = document.createElement("div");
        tmp.textContent = content;
        return tmp.textContent.trim();
      }
    }
    return "";
  }

  /* Make a vector feature with a popup reachable by Tab and opened by Enter or Space (markers are
   * already, Leaflet gives them tabindex and role). Focus also shows the feature's label. */
  function focusableFeature(map, layer, labels) {
    if (!(layer instanceof L.Path) || !layer.getPopup || !layer.getPopup()) { return; }
    var el = layer.getElement && layer.getElement();
    if (!el || el.hasAttribute("tabindex")) { return; }
    el.setAttribute("tabindex", "0");
    el.setAttribute("role", "button");
    el.setAttribute("aria-label", featureName(layer) || labels.feature);
    el.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        e.stopPropagation();
        map._ovaPopupSource = el;
        layer.openPopup();
      }
    });
    el.addEventListener("focus", function () {
      var tip = layer.getTooltip && layer.getTooltip();
      if (!tip) { return; }
      if (tip.options.permanent) { var t = tip.getElement(); if (t) { t.classList.add("ova-label-show"); } }
      else { layer.openTooltip(); }
    });
    el.addEventListener("blur", function () {
      var tip = layer.getTooltip && layer.getTooltip();
      if (!tip) { return; }
      if (tip.options.permanent) { var t = tip.getElement(); if (t) { t.classList.remove("ova-label-show"); } }
      else { layer.closeTooltip(); }
    });
  }

  /* Keyboard and screen-reader support of a Leaflet map: a named region with usage help, controls
   * titled in the page's language, features reachable by Tab, popups that take the focus when
   * opened from the keyboard and give it back when closed (Escape closes them). */
  function accessibleMap(map, labels) {
    var box = map.getContainer();
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", labels.map);
    var help = document.createElement("p");
    help.id = box.id + "-help";
    help.className = "visually-hidden";
    help.textContent = labels.help;
    box.parentNode.insertBefore(help, box.nextSibling);
    box.setAttribute("aria-describedby", help.id);
    function retitle(selector, text) {
      box.querySelectorAll(selector).forEach(function (a) { a.title = text; a.setAttribute("aria-label", text); });
    }
    retitle(".leaflet-control-zoom-in", labels.zoomIn);
    retitle(".leaflet-control-zoom-out", labels.zoomOut);
    retitle(".leaflet-control-layers-toggle", labels.layers);
    // Leaflet closes popups on Escape only while the map box itself has the focus, not a feature
    // or a link of the popup.
    box.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && map._popup && map.hasLayer(map._popup)) { map.closePopup(); }
    });
    map.eachLayer(function (layer) { focusableFeature(map, layer, labels); });
    map.on("layeradd", function (e) { focusableFeature(map, e.layer, labels); });
    map.on("popupopen", function (e) {
      var node = e.popup.getElement();
      var close = node && node.querySelector(".leaflet-popup-close-button");
      if (close) { close.title = labels.close; close.setAttribute("aria-label", labels.close); }
      if (map._ovaPopupSource && node) {
        e.popup._ovaSource = map._ovaPopupSource;
        map._ovaPopupSource = null;
        var target = node.querySelector(".leaflet-popup-content a[href]") || close;
        if (target) { target.focus(); }
      }
    });
    map.on("popupclose", function (e) {
      var source = e.popup._ovaSource;
      e.popup._ovaSource = null;
      if (source && document.contains(source)) { source.focus(); }
    });
  }

  global.OVA = { remoteGeoJson: remoteGeoJson, textBlock: textBlock, display: display, accessibleMap: accessibleMap };
})(window);
