//! Approximate location of a client address from MaxMind-format (`.mmdb`) databases.
//!
//! Loopback and private addresses are the local network; anything else is looked up in
//! memory-mapped databases (no I/O per request), and a lookup that cannot answer says
//! "Unknown" rather than failing a sign-in. Two schemas are read: MaxMind's
//! GeoIP2/GeoLite2 (`country.iso_code`, `city.names.en`) and the flat one of DB-IP Lite
//! as packaged by ip-location-db (`country_code`, `city`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::Reader;
use serde::Deserialize;

use crate::domain::location::{self, Location};

/// DB-IP Lite country data (CC BY 4.0), so that a zero-set-up run shows countries.
static EMBEDDED_COUNTRY_DB: &[u8] = include_bytes!("../assets/geoip/dbip-country.mmdb");

enum Source {
    Embedded(Reader<&'static [u8]>),
    Mapped(Reader<maxminddb::Mmap>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Schema {
    MaxMind,
    Flat,
}

struct Database {
    source: Source,
    schema: Schema,
}

pub struct GeoLookup {
    databases: Vec<Database>,
}

#[derive(Deserialize)]
struct FlatRecord<'a> {
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
    #[serde(borrow, default)]
    city: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct Names<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct Named<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: Names<'a>,
}

#[derive(Deserialize)]
struct MaxMindRecord<'a> {
    #[serde(borrow, default)]
    country: Named<'a>,
    #[serde(borrow, default)]
    city: Named<'a>,
}

impl GeoLookup {
    /// The databases given, or the embedded country database when none are. A file that
    /// is missing or unreadable is skipped with a warning: locations degrade to
    /// "Unknown", sign-ins go on.
    pub fn open(paths: &[PathBuf]) -> Self {
        let mut databases = Vec::new();
        for path in paths {
            match open_mapped(path) {
                Ok(db) => databases.push(db),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "geo database not loaded; locations will show as Unknown")
                }
            }
        }
        if paths.is_empty() {
            match Reader::from_source(EMBEDDED_COUNTRY_DB) {
                Ok(r) => databases
                    .push(Database { schema: schema_of(&r.metadata().database_type), source: Source::Embedded(r) }),
                Err(e) => tracing::warn!(error = %e, "embedded geo database unreadable"),
            }
        }
        Self { databases }
    }

    pub fn locate(&self, ip: IpAddr) -> Location {
        let ip = crate::domain::client_ip::canonical(ip);
        if location::is_local(ip) {
            return Location::local_network();
        }
        self.databases.iter().find_map(|db| db.locate(ip)).unwrap_or_else(Location::unknown)
    }
}

impl Database {
    fn locate(&self, ip: IpAddr) -> Option<Location> {
        match &self.source {
            Source::Embedded(r) => decode(r, self.schema, ip),
            Source::Mapped(r) => decode(r, self.schema, ip),
        }
    }
}

fn decode<S: AsRef<[u8]>>(reader: &Reader<S>, schema: Schema, ip: IpAddr) -> Option<Location> {
    // An IPv6 address asked of an IPv4-only file is an error, not a miss: both mean "not here".
    let found = reader.lookup(ip).ok()?;
    let (code, city) = match schema {
        Schema::Flat => {
            let r: FlatRecord<'_> = found.decode().ok()??;
            (r.country_code.map(str::to_owned), r.city.filter(|c| !c.is_empty()).map(str::to_owned))
        }
        Schema::MaxMind => {
            let r: MaxMindRecord<'_> = found.decode().ok()??;
            (r.country.iso_code.map(str::to_owned), r.city.names.en.map(str::to_owned))
        }
    };
    let code = code.filter(|c| !c.is_empty() && c != "ZZ");
    if code.is_none() && city.is_none() {
        return None;
    }
    let name = code.as_deref().and_then(country_name);
    Some(Location::from_parts(code, name, city))
}

fn open_mapped(path: &Path) -> Result<Database, maxminddb::MaxMindDbError> {
    // SAFETY: the file is mapped read-only; like every mmdb reader we rely on it not being
    // truncated while mapped (replace database files by rename, as docs/api.md says).
    #[allow(unsafe_code)]
    let reader = unsafe { Reader::open_mmap(path)? };
    Ok(Database { schema: schema_of(&reader.metadata().database_type), source: Source::Mapped(reader) })
}

fn schema_of(database_type: &str) -> Schema {
    if database_type.starts_with("GeoIP") || database_type.starts_with("GeoLite") {
        Schema::MaxMind
    } else {
        Schema::Flat
    }
}

/// English short name of an ISO 3166-1 alpha-2 code, as people say it.
fn country_name(code: &str) -> Option<String> {
    let short = match code {
        "GB" => "United Kingdom",
        "US" => "United States",
        "RU" => "Russia",
        "KR" => "South Korea",
        "KP" => "North Korea",
        "IR" => "Iran",
        "TW" => "Taiwan",
        "VN" => "Vietnam",
        "BO" => "Bolivia",
        "VE" => "Venezuela",
        "TZ" => "Tanzania",
        "SY" => "Syria",
        "MD" => "Moldova",
        "LA" => "Laos",
        "CD" => "DR Congo",
        "NL" => "Netherlands",
        "CZ" => "Czechia",
        _ => return isocountry::CountryCode::for_alpha2(code).ok().map(|c| c.name().to_owned()),
    };
    Some(short.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_database_knows_countries() {
        let geo = GeoLookup::open(&[]);
        let l = geo.locate("81.2.69.142".parse().unwrap());
        assert_eq!(l.country.as_deref(), Some("GB"));
        assert_eq!(l.label, "United Kingdom");
        assert_eq!(geo.locate("2a00:1450:4001::1".parse().unwrap()).country.as_deref(), Some("DE"));
    }

    #[test]
    fn maxmind_geolite2_files_are_read_too() {
        let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/geolite2-city-fixture.mmdb");
        let geo = GeoLookup::open(&[fixture]);
        let london = geo.locate("81.2.69.142".parse().unwrap());
        assert_eq!(
            london,
            Location::from_parts(Some("GB".into()), Some("United Kingdom".into()), Some("London".into()))
        );
        assert_eq!(london.label, "London, United Kingdom");
        let de = geo.locate("2a02:ec0::1".parse().unwrap());
        assert_eq!((de.country.as_deref(), de.label.as_str()), (Some("DE"), "Germany"));
        assert_eq!(geo.locate("8.8.8.8".parse().unwrap()), Location::unknown());
    }

    #[test]
    fn local_addresses_never_reach_the_database() {
        let geo = GeoLookup::open(&[]);
        assert_eq!(geo.locate("192.168.1.1".parse().unwrap()), Location::local_network());
        assert_eq!(geo.locate("::1".parse().unwrap()), Location::local_network());
    }

    #[test]
    fn a_missing_file_degrades_to_unknown() {
        let geo = GeoLookup::open(&[PathBuf::from("/nonexistent/geo.mmdb")]);
        assert_eq!(geo.locate("81.2.69.142".parse().unwrap()), Location::unknown());
    }

    #[test]
    fn a_corrupt_file_degrades_to_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.mmdb");
        std::fs::write(&path, b"this is not a maxmind database").unwrap();
        let geo = GeoLookup::open(&[path]);
        assert_eq!(geo.locate("81.2.69.142".parse().unwrap()), Location::unknown());
    }

    #[test]
    fn country_names_are_the_short_ones() {
        assert_eq!(country_name("DE").as_deref(), Some("Germany"));
        assert_eq!(country_name("GB").as_deref(), Some("United Kingdom"));
        assert_eq!(country_name("XX"), None);
    }
}
