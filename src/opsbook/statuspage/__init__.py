"""The public status page: component statuses, uptime history, public incident updates
and maintenance, for services marked `public: true`.

`build_status_page` reads the config and the store once; everything else here is pure
and works on the `StatusPage` it returns (status rules, uptime bars, JSON, Atom, badges).
The HTTP routes are in `opsbook.web.status_page`.
"""

from opsbook.statuspage.badge import badge_svg
from opsbook.statuspage.feed import atom_feed
from opsbook.statuspage.model import ComponentStatus, StatusPage
from opsbook.statuspage.serialize import page_json
from opsbook.statuspage.service import PageSettings, build_status_page

__all__ = [
    "ComponentStatus",
    "PageSettings",
    "StatusPage",
    "atom_feed",
    "badge_svg",
    "build_status_page",
    "page_json",
]
