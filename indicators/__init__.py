"""Territory indicators and public-procurement analysis, computed set-based in PostGIS (no Flask).

- ``territory``: indicators per quartier and priority zone, materialised in ``territory_indicators``;
- ``suppression``: the statistical-suppression rule of public outputs;
- ``publication``: the catalogue views and layer rows;
- ``procurement``: DECP contracts, their suppliers and the local share of a buyer's spend;
- ``exports``: CSV and XLSX writers.
"""
