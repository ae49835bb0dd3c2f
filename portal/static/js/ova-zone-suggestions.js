/* Portail OVA candidate zones: the density clusters of establishments as a map overlay; each
 * popup (built from text nodes only, so names are never parsed as HTML) offers a CSRF-protected
 * form that turns the candidate into a draft zone version on the server. */
(function () {
  "use strict";
  var el = document.getElementById("suggestion-map");
  if (!el || typeof L === "undefined") { return; }
  var texts = JSON.parse(document.getElementById("suggestion-texts").textContent);
  var status = document.getElementById("suggestion-status");
  var map = L.map(el, { preferCanvas: false }).setView([48.8566, 2.3522], 12);
  if (window.OVABasemap) { OVABasemap.fromElement(map); }
  // Framed on the commune's zones; candidates elsewhere (other cities' shops) stay off-screen.
  var home = JSON.parse(el.dataset.bounds || "null");
  if (home) { map.fitBounds(home); }

  function node(tag, text, className) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    if (className) { n.className = className; }
    return n;
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = String(value);
    return input;
  }

  function popup(p) {
    var box = node("div", null, "ova-suggestion-popup");
    box.appendChild(node("strong", texts.quartier + " " + p.quartier_name));
    var list = node("ul", null, "list-unstyled small mb-1");
    [[p.establishments, texts.establishments], [p.addresses, texts.addresses], [p.retail, texts.retail], [p.food, texts.food],
     [p.in_zone, texts.in_zone]].forEach(function (row) {
      list.appendChild(node("li", row[0] + " " + row[1]));
    });
    list.appendChild(node("li", texts.area + " : " + p.area_ha));
    list.appendChild(node("li", texts.density + " : " + p.density_per_ha));
    box.appendChild(list);
    if (p.examples && p.examples.length) {
      box.appendChild(node("div", texts.examples + " :", "small"));
      var names = node("ul", null, "small mb-1 ova-suggestion-names");
      p.examples.forEach(function (name) { names.appendChild(node("li", name)); });
      box.appendChild(names);
    }
    var form = document.createElement("form");
    form.method = "post";
    form.action = el.dataset.draftUrl;
    form.appendChild(hidden("csrf_token", el.dataset.csrf));
    form.appendChild(hidden("seed", p.seed));
    form.appendChild(hidden("distance", el.dataset.distance));
    form.appendChild(hidden("min_points", el.dataset.minPoints));
    var button = node("button", texts.create, "btn btn-sm btn-primary ova-suggestion-create");
    button.type = "submit";
    form.appendChild(button);
    box.appendChild(form);
    return box;
  }

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(url + ": HTTP " + r.status); } return r.json(); });
  }

  // Quartier outlines and existing zone versions, for context (approved solid, drafts dashed).
  getJson(el.dataset.quartiersUrl).then(function (data) {
    L.geoJSON(data, { interactive: false, style: { color: "#666", weight: 1, fillOpacity: 0 } }).addTo(map).bringToBack();
  }).catch(function (err) { console.warn("quartiers", err.message); });
  getJson(el.dataset.zonesUrl).then(function (data) {
    L.geoJSON(data, {
      interactive: false,
      style: function (f) {
        return { color: "#555", weight: 1, fillOpacity: 0.05,
                 dashArray: f.properties.status === "approved" ? null : "4 4" };
      }
    }).addTo(map).bringToBack();
  }).catch(function (err) { console.warn("zones", err.message); });

  var overlay = L.geoJSON(null, {
    style: { color: "#b00020", weight: 2, fillColor: "#b00020", fillOpacity: 0.25, className: "ova-suggestion" },
    onEachFeature: function (f, layer) { layer.bindPopup(popup(f.properties)); }
  }).addTo(map);
  window.OVASuggestions = { map: map, overlay: overlay };

  getJson(el.dataset.url).then(function (data) {
    overlay.addData(data);
    var n = data.features.length;
    status.textContent = n ? n + " " + texts.count : texts.none;
    var here = L.featureGroup(overlay.getLayers().filter(function (l) {
      return !home || L.latLngBounds(home).intersects(l.getBounds());
    }));
    if (here.getLayers().length) { map.fitBounds(here.getBounds(), { maxZoom: 17 }); }
    el.dataset.loaded = String(n);
  }).catch(function (err) {
    status.textContent = texts.error;
    console.warn("suggestions", err.message);
  });
})();
