"""File formats of datasets (COCO, ImageFolder), shared by the client's importers.

Pure Python: no Django here, so the client and the CLI's client verbs can import it.
"""
