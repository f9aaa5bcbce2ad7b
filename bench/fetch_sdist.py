# SPDX-License-Identifier: Apache-2.0
"""Fetch a package's source release through pip's own index client (no build, no metadata step).

Usage: python bench/fetch_sdist.py NAME VERSION DEST_DIR   → prints the saved path
"""

import sys
from pathlib import Path

from pip._vendor.packaging.specifiers import SpecifierSet
from pip._internal.index.collector import LinkCollector
from pip._internal.index.package_finder import PackageFinder
from pip._internal.models.search_scope import SearchScope
from pip._internal.models.selection_prefs import SelectionPreferences
from pip._internal.network.session import PipSession
from pip._internal.configuration import Configuration
from pip._internal.models.index import PyPI


def main(name: str, version: str, dest: str) -> None:
    config = Configuration(isolated=False)
    config.load()
    values = dict(config.items())
    index = next((v for k, v in values.items() if k.endswith("index-url") and not k.endswith("extra-index-url")), PyPI.simple_url)
    session = PipSession()
    collector = LinkCollector(session=session, search_scope=SearchScope.create(find_links=[], index_urls=[index], no_index=False))
    finder = PackageFinder.create(link_collector=collector, selection_prefs=SelectionPreferences(allow_yanked=False))
    wanted = SpecifierSet(f"=={version}")
    sdists = [c for c in finder.find_all_candidates(name)
              if c.version in wanted and c.link.filename.endswith((".tar.gz", ".zip"))]
    best = sdists[0] if sdists else None
    if best is None:
        sys.exit(f"no source release of {name}=={version} on the index")
    out = Path(dest) / best.link.filename
    resp = session.get(best.link.url_without_fragment)
    resp.raise_for_status()
    out.write_bytes(resp.content)
    print(out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
