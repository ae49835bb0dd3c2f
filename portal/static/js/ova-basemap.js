/* Portail OVA basemap: the portal's own street tiles (or those of OVA_BASEMAP_URL) under a Leaflet
 * map, with their attribution, and a notice wherever no street data is loaded (e.g. Nantes).
 * The config comes from the server (portal/basemap/views.py, basemap_config). */
(function (global) {
  "use strict";

  function covers(cfg, bounds) {
    return (cfg.coverage || []).some(function (c) {
      return bounds.intersects(L.latLngBounds([c[1], c[0]], [c[3], c[2]]));
    });
  }

  /* Add the basemap under ``map``; returns the tile layer (null when there is none). */
  function basemap(map, cfg) {
    if (!cfg || !cfg.url) { return null; }
    var layer = L.tileLayer(cfg.url, {
      attribution: cfg.attribution, minZoom: cfg.own ? cfg.minZoom : 0, maxZoom: 20,
      maxNativeZoom: cfg.maxNativeZoom || 19, className: "ova-basemap-tiles", pane: "tilePane"
    }).addTo(map);
    layer.bringToBack();
    var container = map.getContainer();
    container.classList.add("ova-basemap");
    if (!cfg.own) { return layer; }
    var notice = L.control({ position: "bottomleft" });
    notice.onAdd = function () {
      var el = L.DomUtil.create("div", "ova-basemap-notice");
      el.setAttribute("role", "status");
      el.hidden = true;
      return el;
    };
    notice.addTo(map);
    var credited = true;  // the tile layer credits its source when added
    function update() {
      var el = notice.getContainer();
      var text = "";
      var covered = covers(cfg, map.getBounds());
      if (!covered) { text = cfg.noStreets; }
      else if (map.getZoom() < cfg.minZoom) { text = cfg.zoomIn; }
      // Credit the street data only where it is drawn (a Nantes map shows none of it).
      if (map.attributionControl && covered !== credited) {
        if (covered) { map.attributionControl.addAttribution(cfg.attribution); }
        else { map.attributionControl.removeAttribution(cfg.attribution); }
        credited = covered;
      }
      if (el.textContent !== text) { el.textContent = text; }
      el.hidden = !text;
      container.classList.toggle("ova-basemap-none", !!text);
    }
    map.on("moveend", update);
    map.whenReady(update);
    return layer;
  }

  /* The config a page put in a data-basemap attribute of the map's element. */
  function basemapFrom(map) {
    var raw = map.getContainer().getAttribute("data-basemap");
    return raw ? basemap(map, JSON.parse(raw)) : null;
  }

  global.OVABasemap = { basemap: basemap, fromElement: basemapFrom };
})(window);
