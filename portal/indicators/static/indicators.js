/* Portail OVA indicators: a choropleth restyled by an indicator selector, with a legend, and the
 * 12-month trend chart. Every label is set as DOM text (never parsed as HTML). */
(function (global) {
  "use strict";

  var COLORS = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];
  var NO_DATA = "#d9d9d9";

  function fmt(v, decimals) {
    return Number(v).toLocaleString(document.documentElement.lang || "fr", {
      minimumFractionDigits: 0, maximumFractionDigits: decimals || 0 });
  }

  function breaks(values) {
    var v = values.slice().sort(function (a, b) { return a - b; });
    if (!v.length) { return []; }
    var out = [];
    for (var i = 1; i < COLORS.length; i++) {
      var cut = v[Math.floor(i * (v.length - 1) / COLORS.length)];
      if (out.indexOf(cut) < 0 && cut < v[v.length - 1]) { out.push(cut); }
    }
    return out;
  }

  function classOf(value, cuts) {
    for (var i = 0; i < cuts.length; i++) { if (value <= cuts[i]) { return i; } }
    return cuts.length;
  }

  function isSuppressed(props, key) {
    return (props.suppressed || "").split(",").indexOf(key) >= 0;
  }

  function choropleth(map, opts) {
    var state = { key: opts.initial, cuts: [], data: null };
    var layer = L.geoJSON(null, {
      style: function (f) {
        var v = f.properties[state.key];
        var color = v === null || v === undefined ? NO_DATA : COLORS[classOf(Number(v), state.cuts)];
        return { color: "#000091", weight: 1, fillColor: color, fillOpacity: 0.75 };
      },
      onEachFeature: function (f, l) {
        var tip = document.createElement("span");
        tip.textContent = String(f.properties.name);
        l.bindTooltip(tip, { sticky: true });
        l.bindPopup(function () {
          var p = f.properties, meta = opts.indicators[state.key], v = p[state.key], shown;
          if (v === null || v === undefined) {
            shown = isSuppressed(p, state.key) ? opts.texts.suppressed : opts.texts.noData;
          } else { shown = fmt(v, meta.decimals); }
          return OVA.textBlock(p.name, [[meta.label, shown]]);
        });
      }
    }).addTo(map);

    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "ova-legend bg-white p-2 border small");
      div.setAttribute("role", "region");
      div.setAttribute("aria-live", "polite");
      return div;
    };
    legend.addTo(map);

    function drawLegend() {
      var div = legend.getContainer(), meta = opts.indicators[state.key];
      while (div.firstChild) { div.removeChild(div.firstChild); }
      var title = document.createElement("strong");
      title.textContent = meta.label;
      div.appendChild(title);
      var lows = [null].concat(state.cuts);
      for (var i = 0; i < COLORS.length && i < state.cuts.length + 1; i++) {
        var row = document.createElement("div"), sw = document.createElement("span");
        sw.style.cssText = "display:inline-block;width:14px;height:14px;margin-right:4px;border:1px solid #666;background:" + COLORS[i];
        row.appendChild(sw);
        var hi = i < state.cuts.length ? state.cuts[i] : null;
        var t = lows[i] === null ? "≤ " + fmt(hi, meta.decimals) : (hi === null ? "> " + fmt(lows[i], meta.decimals)
          : fmt(lows[i], meta.decimals) + " – " + fmt(hi, meta.decimals));
        row.appendChild(document.createTextNode(t));
        div.appendChild(row);
      }
      var nd = document.createElement("div"), sw2 = document.createElement("span");
      sw2.style.cssText = "display:inline-block;width:14px;height:14px;margin-right:4px;border:1px solid #666;background:" + NO_DATA;
      nd.appendChild(sw2);
      nd.appendChild(document.createTextNode(opts.texts.noData + " / " + opts.texts.suppressed));
      div.appendChild(nd);
    }

    function restyle() {
      var values = [];
      (state.data.features || []).forEach(function (f) {
        var v = f.properties[state.key];
        if (v !== null && v !== undefined) { values.push(Number(v)); }
      });
      state.cuts = breaks(values);
      layer.setStyle(layer.options.style);
      drawLegend();
    }

    fetch(opts.url, { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status + " " + r.statusText); } return r.json(); })
      .then(function (data) {
        state.data = data;
        layer.addData(data);
        restyle();
        if (opts.fit !== false && layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
        var doc = document.getElementById("indicator-map");
        if (doc) { doc.setAttribute("data-loaded", String((data.features || []).length)); }
      })
      .catch(function (err) { console.warn("OVA indicators", err.message); });

    var select = document.getElementById(opts.selectId);
    if (select) {
      select.addEventListener("change", function () {
        state.key = select.value;
        if (state.data) { restyle(); }
      });
    }
    return layer;
  }

  function trendChart(canvasId, dataId) {
    var canvas = document.getElementById(canvasId), node = document.getElementById(dataId);
    if (!canvas || !node || !global.Chart) { return null; }
    var d = JSON.parse(node.textContent);
    return new global.Chart(canvas, {
      type: "line",
      data: { labels: d.labels, datasets: [{ label: d.label, data: d.values, borderColor: "#000091",
        backgroundColor: "rgba(0,0,145,0.15)", spanGaps: false, tension: 0.2 }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        scales: { y: { beginAtZero: true } } }
    });
  }

  global.OVA_IND = { choropleth: choropleth, trendChart: trendChart };
})(window);
