//! Fairness options for leaderboards: a neighbours-only view for reps and
//! anonymised names for the TV. Pure; unit-tested.

/// How many rows above and below a rep's own the neighbours view shows, besides the top.
pub const NEIGHBOURS: usize = 2;
pub const TOP: usize = 3;

/// The row indexes a rep sees in the neighbours view: the top 3, then their
/// own row with 2 above and 2 below, in order and without repeats.
pub fn neighbour_rows(len: usize, mine: Option<usize>) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..TOP.min(len)).collect();
    if let Some(i) = mine.filter(|i| *i < len) {
        rows.extend(i.saturating_sub(NEIGHBOURS)..(i + NEIGHBOURS + 1).min(len));
    }
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// How names appear on a shared screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    Full,
    Initials,
    Hidden,
}

impl Names {
    pub fn parse(text: &str) -> Option<Names> {
        match text {
            "full" => Some(Names::Full),
            "initials" => Some(Names::Initials),
            "none" => Some(Names::Hidden),
            _ => None,
        }
    }

    /// The name as this mode shows it; `rank` stands in when names are hidden.
    pub fn show(self, name: &str, rank: usize) -> String {
        match self {
            Names::Full => name.to_string(),
            Names::Initials => name
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .flat_map(char::to_uppercase)
                .map(|c| format!("{c}."))
                .collect::<Vec<_>>()
                .join(" "),
            Names::Hidden => format!("#{rank}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_the_top_three_and_two_either_side() {
        // Row 9 of 20: top 0..3, then 7..=11.
        assert_eq!(neighbour_rows(20, Some(9)), vec![0, 1, 2, 7, 8, 9, 10, 11]);
        // Near the top the two sets overlap; at the bottom the window is cut.
        assert_eq!(neighbour_rows(20, Some(3)), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(neighbour_rows(6, Some(5)), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(neighbour_rows(20, None), vec![0, 1, 2]);
    }

    #[test]
    fn names_can_be_initials_or_hidden() {
        assert_eq!(Names::Initials.show("Анна Смирнова", 1), "А. С.");
        assert_eq!(Names::Hidden.show("Anna", 4), "#4");
        assert_eq!(Names::Full.show("Anna", 4), "Anna");
    }
}
