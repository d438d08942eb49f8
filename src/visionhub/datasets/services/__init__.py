"""Every state change of the datasets app; the API, the CLI and the admin all call these.

``datasets`` (datasets and members), ``images`` (upload, staging, attach by hash, browse, flag),
``decode`` (checking uploads with Pillow, thumbnails), ``labels`` (categories and label sets),
``annotations`` (bulk writes) with ``geometry`` (their checks) and ``counts`` (the stats
counters and the images' ``annotated`` flag), ``stats``, ``coco_export`` (streamed COCO JSON)
and ``gc`` (the blobs this app references).
"""
