//! Demo data that ships with the project: a small synthetic study made by our own generator
//! (no real or third-party data), with the same PHI shapes as an EHR extract.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const DEMO_STUDY: &str = "demo";

const FIRST: &[&str] = &["Ada", "Grace", "Alan", "Mary", "Rosalind", "Carl", "Emmy", "Niels", "Lise", "Edsger", "Barbara", "Claude", "Hedy", "Kurt", "Marie", "Paul"];
const LAST: &[&str] = &["Lovelace", "Hopper", "Turing", "Jackson", "Franklin", "Gauss", "Noether", "Bohr", "Meitner", "Dijkstra", "Liskov", "Shannon", "Lamarr", "Goedel", "Curie", "Dirac"];
const STREETS: &[&str] = &["Maple Ave", "Oak St", "Harbor Rd", "Elm Ct", "Lake Dr", "Mill Ln", "River Way", "Hill St"];
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("Springfield", "Greene County", "65801", "37.21"),
    ("Riverton", "Fremont County", "82501", "43.02"),
    ("Fairview", "Marion County", "97024", "45.53"),
    ("Lakewood", "Jefferson County", "80226", "39.70"),
];
const CONDITIONS: &[(&str, &str)] = &[
    ("44054006", "Diabetes mellitus type 2 (disorder)"),
    ("38341003", "Hypertensive disorder (disorder)"),
    ("195662009", "Acute viral pharyngitis (disorder)"),
    ("10509002", "Acute bronchitis (disorder)"),
    ("162864005", "Body mass index 30+ - obesity (finding)"),
    ("40055000", "Chronic sinusitis (disorder)"),
];
const CLASSES: &[&str] = &["wellness", "ambulatory", "outpatient", "emergency", "inpatient"];

fn id(rng: &mut StdRng) -> String {
    let b: [u8; 16] = rng.gen();
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn date(rng: &mut StdRng, from_year: i32, to_year: i32) -> String {
    format!("{}-{:02}-{:02}", rng.gen_range(from_year..=to_year), rng.gen_range(1..=12), rng.gen_range(1..=28))
}

/// Writes patients.csv, encounters.csv, conditions.csv and phi.toml into `dir`.
pub fn write_demo(dir: &Path, patients: usize, seed: u64) -> std::io::Result<PathBuf> {
    let mut rng = StdRng::seed_from_u64(seed);
    std::fs::create_dir_all(dir)?;
    let mut p = String::from("Id,BIRTHDATE,DEATHDATE,SSN,FIRST,LAST,ADDRESS,CITY,COUNTY,ZIP,LAT,LON,GENDER,RACE,HEALTHCARE_EXPENSES\n");
    let mut e = String::from("Id,START,STOP,PATIENT,ENCOUNTERCLASS,CODE,DESCRIPTION,BASE_ENCOUNTER_COST\n");
    let mut c = String::from("START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n");
    for _ in 0..patients {
        let pid = id(&mut rng);
        let (city, county, zip, lat) = CITIES[rng.gen_range(0..CITIES.len())];
        let birth = date(&mut rng, 1935, 2020);
        let death = if rng.gen_bool(0.08) { date(&mut rng, 2021, 2025) } else { String::new() };
        let _ = writeln!(
            p,
            "{pid},{birth},{death},999-{:02}-{:04},{}{},{}{},{} {},{city},{county},{zip},{lat}{:03},-9{:01}.{:05},{},{},{:.2}",
            rng.gen_range(10..99),
            rng.gen_range(1000..9999),
            FIRST[rng.gen_range(0..FIRST.len())],
            rng.gen_range(100..999),
            LAST[rng.gen_range(0..LAST.len())],
            rng.gen_range(100..999),
            rng.gen_range(1..9999),
            STREETS[rng.gen_range(0..STREETS.len())],
            rng.gen_range(0..999),
            rng.gen_range(0..9),
            rng.gen_range(0..99999),
            if rng.gen_bool(0.5) { "F" } else { "M" },
            ["white", "black", "asian", "native", "other"][rng.gen_range(0..5)],
            rng.gen_range(1000.0..250000.0),
        );
        for _ in 0..rng.gen_range(2..12) {
            let eid = id(&mut rng);
            let day = date(&mut rng, 2015, 2025);
            let hour = rng.gen_range(7..18);
            let class = CLASSES[rng.gen_range(0..CLASSES.len())];
            let _ = writeln!(
                e,
                "{eid},{day}T{hour:02}:00:00Z,{day}T{:02}:30:00Z,{pid},{class},{},Encounter for {class} care,{:.2}",
                hour,
                rng.gen_range(100000..999999),
                rng.gen_range(50.0..2500.0)
            );
            if rng.gen_bool(0.4) {
                let (code, desc) = CONDITIONS[rng.gen_range(0..CONDITIONS.len())];
                let stop = if rng.gen_bool(0.5) { day.clone() } else { String::new() };
                let _ = writeln!(c, "{day},{stop},{pid},{eid},{code},{desc}");
            }
        }
    }
    std::fs::write(dir.join("patients.csv"), p)?;
    std::fs::write(dir.join("encounters.csv"), e)?;
    std::fs::write(dir.join("conditions.csv"), c)?;
    let map = dir.join("phi.toml");
    std::fs::write(&map, DEMO_MAP)?;
    Ok(map)
}

/// The demo study's PHI map (same choices as examples/synthea/phi.toml).
const DEMO_MAP: &str = r#"
[patients]
Id = { level = "not-phi", participant = true }
BIRTHDATE = "limited"
DEATHDATE = "limited"
CITY = "limited"
COUNTY = "limited"
ZIP = "limited"
SSN = "restricted"
FIRST = "full"
LAST = "full"
ADDRESS = "full"
LAT = "full"
LON = "full"

[encounters]
PATIENT = { level = "not-phi", participant = true }
START = "limited"
STOP = "limited"

[conditions]
PATIENT = { level = "not-phi", participant = true }
START = "limited"
STOP = "limited"
"#;
