//! Region order for geo selection: a client's country (then continent, then `*`) names the
//! regions it prefers; the other regions follow in configuration order, so a client is served
//! from another region rather than not at all. Orders are computed once per configuration, so a
//! pick only looks one up.

use std::collections::{BTreeMap, HashMap};

/// The region orders of one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionOrder {
    /// The regions, in configuration order; orders hold indices into this.
    regions: Vec<String>,
    /// Country or continent code to the full order.
    by_code: HashMap<String, Vec<usize>>,
    /// The order for clients no code matches (`*`, then the rest).
    default: Vec<usize>,
}

impl RegionOrder {
    /// Orders for `prefer` (code to preferred regions, as in `[network.geo] prefer`) over
    /// `regions`. Preferred regions that are not in `regions` are ignored.
    pub fn new(prefer: &BTreeMap<String, Vec<String>>, regions: &[&str]) -> RegionOrder {
        let full = |preferred: &[String]| -> Vec<usize> {
            let mut order: Vec<usize> = Vec::with_capacity(regions.len());
            let named = preferred.iter().filter_map(|p| regions.iter().position(|r| r == p));
            for i in named.chain(0..regions.len()) {
                if !order.contains(&i) {
                    order.push(i);
                }
            }
            order
        };
        let default = full(prefer.get("*").map_or(&[][..], Vec::as_slice));
        let by_code = prefer
            .iter()
            .filter(|(code, _)| code.as_str() != "*")
            .map(|(code, list)| (code.clone(), full(list)))
            .collect();
        RegionOrder {
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
            by_code,
            default,
        }
    }

    /// The region indices to try, in order, for a client in `country` on `continent` (either may
    /// be unknown). The country's entry wins over the continent's.
    pub fn order(&self, country: Option<&str>, continent: Option<&str>) -> &[usize] {
        country
            .and_then(|c| self.by_code.get(c))
            .or_else(|| continent.and_then(|c| self.by_code.get(c)))
            .unwrap_or(&self.default)
    }

    /// The region names, in configuration order.
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// The index of a region name.
    pub fn index(&self, region: &str) -> Option<usize> {
        self.regions.iter().position(|r| r == region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> RegionOrder {
        let mut prefer = BTreeMap::new();
        prefer.insert("US".to_owned(), vec!["us".to_owned(), "asia".to_owned()]);
        prefer.insert("AS".to_owned(), vec!["asia".to_owned(), "us".to_owned()]);
        prefer.insert("DE".to_owned(), vec!["eu".to_owned()]);
        prefer.insert("*".to_owned(), vec!["us".to_owned()]);
        RegionOrder::new(&prefer, &["asia", "us", "eu"])
    }

    fn names<'a>(o: &'a RegionOrder, country: Option<&str>, continent: Option<&str>) -> Vec<&'a str> {
        o.order(country, continent)
            .iter()
            .map(|&i| o.regions()[i].as_str())
            .collect()
    }

    #[test]
    fn country_then_continent_then_default() {
        let o = order();
        assert_eq!(names(&o, Some("US"), Some("NA")), ["us", "asia", "eu"]);
        assert_eq!(names(&o, Some("JP"), Some("AS")), ["asia", "us", "eu"]);
        assert_eq!(
            names(&o, Some("DE"), Some("EU")),
            ["eu", "asia", "us"],
            "the rest follow in config order"
        );
        assert_eq!(names(&o, Some("BR"), Some("SA")), ["us", "asia", "eu"]);
        assert_eq!(names(&o, None, None), ["us", "asia", "eu"]);
        assert_eq!(o.index("eu"), Some(2));
    }

    #[test]
    fn unknown_regions_are_ignored_and_no_preference_is_config_order() {
        let mut prefer = BTreeMap::new();
        prefer.insert("US".to_owned(), vec!["mars".to_owned(), "b".to_owned()]);
        let o = RegionOrder::new(&prefer, &["a", "b"]);
        assert_eq!(names(&o, Some("US"), None), ["b", "a"]);
        assert_eq!(names(&o, Some("FR"), None), ["a", "b"]);
    }
}
