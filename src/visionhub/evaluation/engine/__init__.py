"""The evaluation engine: COCO matching and metrics on numpy arrays, with no Django.

``instances`` holds annotations as arrays, ``overlap`` their IoU / OKS, ``matching`` COCO's
greedy matching for many (image, category) groups at once, ``accumulate`` the precision and
recall tables and the summary stats, ``errors`` seed 004's FP / FN analysis, ``confusion``
the confusion matrix with a background class, ``classification`` the metrics of one label
per image. Everything is checked against pycocotools and scikit-learn in
``tests/evaluation``.
"""
