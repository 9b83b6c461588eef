"""Writes the test fleet's geo database with mmdb-writer (PyPI), an implementation independent of
ours: GeoLite2-Country-shaped records (country iso_code, continent code) for the client
addresses the test reads from, so that the gateways map them to regions.

    python geo.py OUT.mmdb NETWORK=COUNTRY:CONTINENT...   e.g. 10.77.0.101/32=US:NA
"""

import sys

from mmdb_writer import MMDBWriter
from netaddr import IPSet


def main() -> None:
    writer = MMDBWriter(
        ip_version=4,
        database_type="GeoLite2-Country",
        languages=["en"],
        description="bts-infra test fleet clients",
    )
    for spec in sys.argv[2:]:
        network, codes = spec.split("=")
        country, continent = codes.split(":")
        writer.insert_network(
            IPSet([network]),
            {"country": {"iso_code": country}, "continent": {"code": continent}},
        )
    writer.to_db_file(sys.argv[1])


if __name__ == "__main__":
    main()
