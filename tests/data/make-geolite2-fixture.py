"""Writes geolite2-city-fixture.mmdb: two networks in MaxMind's GeoLite2-City schema, to
test that Latchkey reads that schema (pip install mmdb-writer netaddr)."""
from mmdb_writer import MMDBWriter
from netaddr import IPSet

w = MMDBWriter(ip_version=6, database_type="GeoLite2-City", languages=["en"],
               description="Latchkey test fixture", ipv4_compatible=True)
w.insert_network(IPSet(["81.2.69.0/24"]), {"city": {"names": {"en": "London"}},
                                           "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}}})
w.insert_network(IPSet(["2a02:ec0::/29"]), {"country": {"iso_code": "DE", "names": {"en": "Germany"}}})
w.to_db_file("geolite2-city-fixture.mmdb")
