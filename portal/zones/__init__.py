"""Priority-zone editor for urbanists: draw or upload polygons, versions, draft → approved."""
