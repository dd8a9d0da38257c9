//! Value types with units (durations, rates, sizes, percentages, counts) as a scenario writes
//! them. Each one checks its own range while it is read, so the error lands on the value's line
//! and column; none of them knows which field it sits in.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A span of time written with a unit: `500ms`, `30s`, `2m`, `1m30s`; at most a day
/// (`limits::MAX_DURATION`): no duration of a scenario is longer, and a longer one is a typo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, like 500ms, 30s or 2m")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                let text = v.trim();
                let d = humantime::parse_duration(text).map_err(|e| {
                    E::custom(format_args!(
                        "`{text}` is not a duration ({e}); write a number and a unit, like 500ms, 30s or 2m"
                    ))
                })?;
                let max = crate::limits::MAX_DURATION;
                if d > max {
                    return Err(E::custom(format_args!(
                        "`{text}` is too long: a scenario's durations are at most {}",
                        humantime::format_duration(max)
                    )));
                }
                Ok(Duration(d))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Err(E::custom(format_args!(
                    "a duration needs a unit: write `{v}s` or `{v}ms`, not `{v}`"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                Err(E::custom(format_args!(
                    "`{v}` is not a duration: durations are positive and need a unit, like 30s"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Err(E::custom(format_args!(
                    "a duration needs a unit: write `{v}s`, not `{v}`"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration with a unit: ms, s, m or h (e.g. 500ms, 30s, 2m, 1m30s).",
            "pattern": r"^\s*\d+(\.\d+)?\s*[a-zµ]+(\s*\d+(\.\d+)?\s*[a-zµ]+)*\s*$",
            "examples": ["30s", "2m", "500ms"]
        })
    }
}

/// A whole number with a lower and upper bound, checked as it is read (`MIN..=MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Count<const MIN: u32, const MAX: u32>(pub u32);

impl<const MIN: u32, const MAX: u32> Count<MIN, MAX> {
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl<const MIN: u32, const MAX: u32> fmt::Display for Count<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<const MIN: u32, const MAX: u32> Serialize for Count<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de, const MIN: u32, const MAX: u32> Deserialize<'de> for Count<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MIN: u32, const MAX: u32>;
        impl<const MIN: u32, const MAX: u32> Visitor<'_> for V<MIN, MAX> {
            type Value = Count<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number from {MIN} to {MAX}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                in_range::<MIN, MAX, E>(v.into()).map(Count)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                in_range::<MIN, MAX, E>(v.into()).map(Count)
            }
        }
        d.deserialize_any(V::<MIN, MAX>)
    }
}

/// A whole number read from YAML as a count in `MIN..=MAX`, or the error every count gives.
fn in_range<const MIN: u32, const MAX: u32, E: de::Error>(v: i128) -> Result<u32, E> {
    match u32::try_from(v) {
        Ok(v) if (MIN..=MAX).contains(&v) => Ok(v),
        _ => Err(E::custom(format_args!(
            "{v} is out of range: expected a whole number from {MIN} to {MAX}"
        ))),
    }
}

impl<const MIN: u32, const MAX: u32> JsonSchema for Count<MIN, MAX> {
    fn schema_name() -> Cow<'static, str> {
        format!("Count_{MIN}_to_{MAX}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": MIN, "maximum": MAX })
    }
}

/// A number of workers: a whole number (`8`), or a number for each CPU core the deployment
/// runs on (`4/core`), which loading the scenario multiplies out with [`Workers::resolve`], so
/// a scenario written for 2 cores keeps its proportions on 16. A per-core count written back
/// (results.json's copy of the scenario) stays `4/core`; the runs record the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workers<const MIN: u32, const MAX: u32> {
    count: u32,
    per_core: Option<u32>,
}

impl<const MIN: u32, const MAX: u32> Workers<MIN, MAX> {
    pub const fn fixed(count: u32) -> Self {
        Self {
            count,
            per_core: None,
        }
    }

    /// The number of workers (0 for a per-core count not yet resolved).
    pub const fn get(self) -> u32 {
        self.count
    }

    /// Workers a core, when written so.
    pub const fn per_core(self) -> Option<u32> {
        self.per_core
    }

    /// Multiplies a per-core count out over `cores`; says why when the product is out of
    /// range. A plain number is left as written.
    pub fn resolve(&mut self, cores: u32) -> Result<(), String> {
        let Some(k) = self.per_core else {
            return Ok(());
        };
        let n = k.saturating_mul(cores);
        if !(MIN..=MAX).contains(&n) {
            return Err(format!(
                "`{k}/core` is {n} on this machine's {cores} cores: at most {MAX}"
            ));
        }
        self.count = n;
        Ok(())
    }
}

impl<const MIN: u32, const MAX: u32> fmt::Display for Workers<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.per_core {
            Some(k) => write!(f, "{} ({k}/core)", self.count),
            None => self.count.fmt(f),
        }
    }
}

impl<const MIN: u32, const MAX: u32> Serialize for Workers<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.per_core {
            Some(k) => s.collect_str(&format_args!("{k}/core")),
            None => s.serialize_u32(self.count),
        }
    }
}

impl<'de, const MIN: u32, const MAX: u32> Deserialize<'de> for Workers<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MIN: u32, const MAX: u32>;
        impl<const MIN: u32, const MAX: u32> Visitor<'_> for V<MIN, MAX> {
            type Value = Workers<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "a whole number from {MIN} to {MAX}, or a number a core such as `4/core`"
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                in_range::<MIN, MAX, E>(v.into()).map(Workers::fixed)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                in_range::<MIN, MAX, E>(v.into()).map(Workers::fixed)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let k = v
                    .trim()
                    .strip_suffix("/core")
                    .and_then(|k| k.trim().parse::<u32>().ok());
                match k {
                    Some(k) if (1..=MAX).contains(&k) => Ok(Workers {
                        count: 0,
                        per_core: Some(k),
                    }),
                    _ => Err(E::custom(format_args!(
                        "`{v}` is not a count of workers: expected a whole number from {MIN} to \
                         {MAX}, or a whole number a core from 1 to {MAX} such as `4/core`"
                    ))),
                }
            }
        }
        d.deserialize_any(V::<MIN, MAX>)
    }
}

impl<const MIN: u32, const MAX: u32> JsonSchema for Workers<MIN, MAX> {
    fn schema_name() -> Cow<'static, str> {
        format!("Workers_{MIN}_to_{MAX}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A whole number, or a number for each CPU core the deployment runs on (`4/core`).",
            "oneOf": [
                { "type": "integer", "minimum": MIN, "maximum": MAX },
                { "type": "string", "pattern": r"^\s*[1-9][0-9]*\s*/core\s*$", "examples": ["1/core", "4/core"] }
            ]
        })
    }
}

/// Something per second, strictly positive and at most `limits::MAX_RATE` (10⁹: one a
/// nanosecond): a bare number (`500`) or with its unit (`500/s`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

fn positive_rate<E: de::Error>(v: f64, written: &dyn fmt::Display) -> Result<Rate, E> {
    if v.is_finite() && v > crate::limits::MAX_RATE {
        Err(E::custom(format_args!(
            "rate {written} is too high: at most {} per second (one a nanosecond, the clock's resolution)",
            crate::limits::MAX_RATE
        )))
    } else if v.is_finite() && v > 0.0 {
        Ok(Rate(v))
    } else {
        Err(E::custom(format_args!(
            "rate must be more than 0 per second, got {written}"
        )))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rate per second, like 500 or 500/s")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
                positive_rate(v as f64, &v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
                positive_rate(v as f64, &v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
                positive_rate(v, &v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
                let number = v
                    .trim()
                    .strip_suffix("/s")
                    .map(|n| n.trim_end().trim_end_matches("req").trim_end())
                    .unwrap_or(v.trim());
                match number.parse::<f64>() {
                    Ok(n) => positive_rate(n, &v),
                    Err(_) => Err(E::custom(format_args!(
                        "`{v}` is not a rate: write a number per second, like 500 or 500/s"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Per second, more than 0 and at most 1e9: a number (500) or with its unit (500/s).",
            "anyOf": [
                { "type": "number", "exclusiveMinimum": 0, "maximum": 1e9 },
                { "type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(req)?/s\s*$" }
            ]
        })
    }
}

/// A strictly positive weight in an endpoint mix (relative, need not sum to anything).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Weight(pub f64);

impl<'de> Deserialize<'de> for Weight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Weight;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a weight, a number more than 0")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Weight, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Weight, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Weight, E> {
                if v.is_finite() && v > 0.0 {
                    Ok(Weight(v))
                } else {
                    Err(E::custom(format_args!(
                        "weight must be more than 0, got {v}"
                    )))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Weight {
    fn schema_name() -> Cow<'static, str> {
        "Weight".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "exclusiveMinimum": 0 })
    }
}

/// A frequency in hertz, from 0.1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Hertz(pub f64);

impl<'de> Deserialize<'de> for Hertz {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Hertz;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a frequency in Hz from 0.1 to 100")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Hertz, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Hertz, E> {
                self.visit_f64(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Hertz, E> {
                if (0.1..=100.0).contains(&v) {
                    Ok(Hertz(v))
                } else {
                    Err(E::custom(format_args!(
                        "{v} Hz is out of range: expected 0.1 to 100"
                    )))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Hertz {
    fn schema_name() -> Cow<'static, str> {
        "Hertz".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "minimum": 0.1, "maximum": 100 })
    }
}

/// A share written as a percentage, `0.5%` to `100%`; kept as a fraction.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a percentage, like 1%")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Percent, E> {
                let parsed = v
                    .trim()
                    .strip_suffix('%')
                    .and_then(|n| n.trim_end().parse::<f64>().ok());
                match parsed {
                    Some(p) if (0.0..=100.0).contains(&p) => Ok(Percent(p / 100.0)),
                    Some(p) => Err(E::custom(format_args!(
                        "{p}% is out of range: expected 0% to 100%"
                    ))),
                    None => Err(E::custom(format_args!(
                        "`{v}` is not a percentage: write it with a % sign, like 1% or 0.5%"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Percent, E> {
                Err(E::custom(format_args!(
                    "write a percentage with its % sign: `{v}%`"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Percent, E> {
                Err(E::custom(format_args!(
                    "`{v}` is not a percentage: expected 0% to 100%"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Percent, E> {
                Err(E::custom(format_args!(
                    "write a percentage with its % sign: `{v}%`"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Percent {
    fn schema_name() -> Cow<'static, str> {
        "Percent".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A percentage with its % sign, 0% to 100% (e.g. 1%, 0.5%).",
            "pattern": r"^\s*\d+(\.\d+)?\s*%\s*$"
        })
    }
}

/// An amount of memory: `512MiB`, `1.5GiB`, `300MB`, or a whole number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", bytesize::ByteSize(self.0).display().iec())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount of memory, like 512MiB or 1.5GiB")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bytes, E> {
                if v == 0 {
                    Err(E::custom("memory size must be more than 0"))
                } else {
                    Ok(Bytes(v))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Bytes, E> {
                Err(E::custom(format_args!(
                    "memory size must be more than 0, got {v}"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
                match v.trim().parse::<bytesize::ByteSize>() {
                    Ok(b) if b.0 > 0 => Ok(Bytes(b.0)),
                    Ok(_) => Err(E::custom("memory size must be more than 0")),
                    Err(_) => Err(E::custom(format_args!(
                        "`{v}` is not an amount of memory: write a number and a unit, like 512MiB or 1.5GiB"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Bytes {
    fn schema_name() -> Cow<'static, str> {
        "Bytes".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Memory: a number with a unit (KiB, MiB, GiB, KB, MB, GB) or a whole number of bytes.",
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*[KMGTkmgt]i?[Bb]?\s*$" }
            ]
        })
    }
}
