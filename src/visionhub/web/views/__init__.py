"""Page views, one module per area of the product (datasets, models, deployments, …)."""
