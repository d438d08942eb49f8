"""Every state change of a labeling project; the API, the CLI, the pages and the admin call these.

``projects``: create, edit, initialise, QA and export a project, and its task counters;
``tasks``: leaders, workers, restart and QA of one task, and the progress of its roles;
``labels``: a labeler's label and a reviewer's review of one image, and the statuses they move.
"""
