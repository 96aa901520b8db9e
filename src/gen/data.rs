//! Reference data of the generator, the same as gen837.py's: payers, diagnosis and procedure
//! code lists, names, streets, cities and the billing providers' names.

/// A payer of the 2010BB loop with its claim filing indicators (SBR09).
#[derive(Debug, PartialEq, Eq)]
pub struct Payer {
    /// NM103.
    pub name: &'static str,
    /// NM109 (NM108 `PI`).
    pub id: &'static str,
    /// SBR09 on an 837P.
    pub sbr09_p: &'static str,
    /// SBR09 on an 837I.
    pub sbr09_i: &'static str,
    /// Not Medicare.
    pub commercial: bool,
}

/// Medicare (`MB` on 837P, `MA` on 837I).
pub static MEDICARE: Payer = Payer {
    name: "MEDICARE",
    id: "12202",
    sbr09_p: "MB",
    sbr09_i: "MA",
    commercial: false,
};
/// Aetna.
pub static AETNA: Payer = Payer {
    name: "AETNA",
    id: "60054",
    sbr09_p: "CI",
    sbr09_i: "CI",
    commercial: true,
};
/// Cigna.
pub static CIGNA: Payer = Payer {
    name: "CIGNA",
    id: "62308",
    sbr09_p: "CI",
    sbr09_i: "CI",
    commercial: true,
};
/// UnitedHealthcare (the payer of 837P `missing_pa` claims).
pub static UHC: Payer = Payer {
    name: "UNITEDHEALTHCARE",
    id: "87726",
    sbr09_p: "CI",
    sbr09_i: "CI",
    commercial: true,
};
/// Blue Cross Blue Shield.
pub static BCBS: Payer = Payer {
    name: "BLUE CROSS BLUE SHIELD",
    id: "00621",
    sbr09_p: "BL",
    sbr09_i: "BL",
    commercial: true,
};

/// The payers with their weights (Medicare 40 %, the others 15 % each).
pub static PAYERS: [(&Payer, u32); 5] = [
    (&MEDICARE, 40),
    (&AETNA, 15),
    (&CIGNA, 15),
    (&UHC, 15),
    (&BCBS, 15),
];

/// Medicare Group 1 (LCD A58403), lumbar/sacral: the only codes clean Medicare facet lines point to.
pub const LUMBAR_COVERED: [&str; 6] = ["M47816", "M47817", "M47896", "M47897", "M4816", "M4817"];
/// Billable, not Group 1, not radiculopathy, not cervical or thoracic.
pub const BACK_PAIN: [&str; 3] = ["M5450", "M5459", "G8929"];
/// Listed after the pointed codes on 837P claims, never pointed by a facet line.
pub const UNPOINTED_P: [&str; 4] = ["I10", "E119", "E785", "M47812"];
/// The same for 837I, which has no pointers (so no M47812, which would count as on the line).
pub const UNPOINTED_I: [&str; 3] = ["I10", "E119", "E785"];
/// `nonsupport_dx`: billable, none in Group 1 (nor M53.8x), no radiculopathy, nothing cervical.
pub const NONSUPPORT_DX: [&str; 7] = ["M5450", "M5459", "G8929", "M1711", "R519", "I10", "J069"];
/// Diagnoses of office visits.
pub const OFFICE_DX: [&str; 6] = ["M5450", "M5459", "M47816", "M47817", "I10", "E119"];

/// Procedures that need prior authorization (or a Medicare UTN) where the payer asks for it.
pub const PA_CODES: [&str; 10] = [
    "64633", "64634", "64635", "64636", "64490", "64491", "64492", "64493", "64494", "64495",
];

/// The side modifiers of a facet line.
pub const SIDES: [&str; 3] = ["50", "RT", "LT"];

/// Last names.
pub const LAST: [&str; 34] = [
    "SMITH",
    "JOHNSON",
    "WILLIAMS",
    "BROWN",
    "JONES",
    "GARCIA",
    "MILLER",
    "DAVIS",
    "RODRIGUEZ",
    "MARTINEZ",
    "HERNANDEZ",
    "LOPEZ",
    "GONZALEZ",
    "WILSON",
    "ANDERSON",
    "THOMAS",
    "TAYLOR",
    "MOORE",
    "JACKSON",
    "MARTIN",
    "LEE",
    "PEREZ",
    "THOMPSON",
    "WHITE",
    "HARRIS",
    "SANCHEZ",
    "CLARK",
    "RAMIREZ",
    "LEWIS",
    "ROBINSON",
    "WALKER",
    "YOUNG",
    "ALLEN",
    "KING",
];
/// Female first names.
pub const FIRST_F: [&str; 13] = [
    "MARY",
    "PATRICIA",
    "LINDA",
    "BARBARA",
    "ELIZABETH",
    "JENNIFER",
    "MARIA",
    "SUSAN",
    "MARGARET",
    "DOROTHY",
    "LISA",
    "NANCY",
    "KAREN",
];
/// Male first names.
pub const FIRST_M: [&str; 13] = [
    "JAMES",
    "JOHN",
    "ROBERT",
    "MICHAEL",
    "WILLIAM",
    "DAVID",
    "RICHARD",
    "CHARLES",
    "JOSEPH",
    "THOMAS",
    "CHRISTOPHER",
    "DANIEL",
    "PAUL",
];
/// Middle initials.
pub const INITIALS: [&str; 12] = ["A", "B", "C", "D", "E", "J", "K", "L", "M", "R", "S", "T"];
/// Streets.
pub const STREETS: [&str; 10] = [
    "MAIN ST",
    "OAK AVE",
    "MAPLE DR",
    "CEDAR LN",
    "ELM ST",
    "PINE RD",
    "WASHINGTON BLVD",
    "LAKE SHORE DR",
    "HILLCREST RD",
    "PARK AVE",
];

/// A city with its state and ZIP code.
#[derive(Debug, PartialEq, Eq)]
pub struct City {
    /// N401.
    pub name: &'static str,
    /// N402.
    pub state: &'static str,
    /// N403 (five digits).
    pub zip: &'static str,
}

const fn city(name: &'static str, state: &'static str, zip: &'static str) -> City {
    City { name, state, zip }
}

/// Cities.
pub static CITIES: [City; 10] = [
    city("COLUMBUS", "OH", "43215"),
    city("AUSTIN", "TX", "78701"),
    city("NASHVILLE", "TN", "37203"),
    city("DENVER", "CO", "80202"),
    city("PHOENIX", "AZ", "85004"),
    city("RALEIGH", "NC", "27601"),
    city("TAMPA", "FL", "33602"),
    city("PITTSBURGH", "PA", "15222"),
    city("MADISON", "WI", "53703"),
    city("OMAHA", "NE", "68102"),
];

/// 837P billing providers (practices), one per pool slot.
pub const PRACTICES: [&str; 6] = [
    "SPINE CARE ASSOCIATES",
    "INTERVENTIONAL PAIN CENTER",
    "ADVANCED PAIN MANAGEMENT",
    "RIVERSIDE SPINE AND PAIN",
    "SUMMIT PAIN SPECIALISTS",
    "LAKEVIEW ORTHOPEDIC SPINE",
];
/// 837P service facilities (2310C) for place of service 24.
pub const FAC_ASC_P: [&str; 3] = [
    "RIVERSIDE SURGERY CENTER",
    "SUMMIT AMBULATORY SURGERY",
    "LAKESIDE SURGERY CENTER",
];
/// 837P service facilities (2310C) for places of service 19, 21 and 22.
pub const FAC_HOSP_P: [&str; 3] = [
    "GENERAL HOSPITAL",
    "ST LUKE HOSPITAL",
    "MERCY MEDICAL CENTER",
];

/// 837I billing facilities, one per pool slot: name, taxonomy and facility type code (CLM05-1:
/// `13` hospital outpatient, `83` ambulatory surgery centre).
pub const FACILITIES_I: [(&str, &str, &str); 6] = [
    ("ST MARY REGIONAL HOSPITAL", "282N00000X", "13"),
    ("MERCY GENERAL HOSPITAL", "282N00000X", "13"),
    ("VALLEY SURGERY CENTER", "261QA1903X", "83"),
    ("ST MARY COMMUNITY HOSPITAL", "282N00000X", "13"),
    ("MERCY MEMORIAL HOSPITAL", "282N00000X", "13"),
    ("NORTH SURGERY CENTER", "261QA1903X", "83"),
];

/// The taxonomy of the 837P practices and of their rendering physicians.
pub const PAIN_MEDICINE: &str = "208VP0014X";
