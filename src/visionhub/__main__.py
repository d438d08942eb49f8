from __future__ import annotations

from visionhub.cli import main

main()
