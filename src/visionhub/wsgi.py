from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from visionhub.core.wsgi import release_connections_while_waiting

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionhub.settings")
application = release_connections_while_waiting(get_wsgi_application())
