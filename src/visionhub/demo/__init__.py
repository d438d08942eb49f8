"""``visionhub demo``: the whole product end to end on the embedded default."""
