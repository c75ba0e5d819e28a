//! Name keys for the low-confidence path: the name in simplified characters, and every
//! pinyin reading of it.
//!
//! Traditional characters are folded to simplified first (fast2s, OpenCC-derived table), so
//! 單 and 单 give the same keys; then a surname table gives the surname reading (曾 zeng,
//! 单 shan, 解 xie, 区 ou, 仇 qiu, 朴 piao, ...), where default tables read ceng, dan, jie,
//! qu, chou, pu; every reading of each given-name character is kept. ü is written `v`, as
//! in passports' LYU/NYU, so 吕, "Lü", "LYU" and "LV" agree. Characters without a reading
//! (rare ones such as 𠮷) stand for themselves.

use pinyin::ToPinyinMulti;

use crate::registration::normalise_name;

/// At most this many pinyin keys per name: each costs the phone one stretched derivation.
/// Names with more reading combinations keep the first ones in a fixed order, on the server
/// and on the phone alike.
pub(crate) const MAX_PINYIN_KEYS: usize = 8;

/// Surnames read differently from the character's default reading.
const SURNAMES: &[(&str, &[&str])] = &[
    ("曾", &["zeng"]),
    ("单", &["shan"]),
    ("解", &["xie"]),
    ("区", &["ou"]),
    ("仇", &["qiu"]),
    ("朴", &["piao"]),
    ("查", &["zha"]),
    ("盖", &["ge"]),
    ("华", &["hua"]),
    ("乐", &["yue", "le"]),
    ("缪", &["miao"]),
    ("翟", &["zhai"]),
    ("种", &["chong"]),
    ("员", &["yun"]),
    ("覃", &["qin", "tan"]),
    ("召", &["shao"]),
    ("折", &["she"]),
    ("繁", &["po"]),
    ("秘", &["bi"]),
    ("尉", &["wei", "yu"]),
    ("句", &["gou"]),
    ("长", &["chang"]),
    ("重", &["chong"]),
    ("那", &["na"]),
    ("都", &["du"]),
    ("能", &["nai"]),
    ("祭", &["zhai"]),
    ("黑", &["he"]),
    ("沈", &["shen"]),
    ("石", &["shi"]),
    ("葛", &["ge"]),
    ("贾", &["jia"]),
    ("薄", &["bo"]),
    ("费", &["fei"]),
    ("莘", &["shen"]),
    ("欧阳", &["ouyang"]),
    ("司马", &["sima"]),
    ("诸葛", &["zhuge"]),
    ("上官", &["shangguan"]),
    ("司徒", &["situ"]),
    ("东方", &["dongfang"]),
    ("皇甫", &["huangfu"]),
    ("尉迟", &["yuchi"]),
    ("公孙", &["gongsun"]),
    ("慕容", &["murong"]),
    ("长孙", &["zhangsun"]),
    ("宇文", &["yuwen"]),
    ("令狐", &["linghu"]),
    ("夏侯", &["xiahou"]),
    ("万俟", &["moqi"]),
    ("单于", &["chanyu"]),
    ("澹台", &["tantai"]),
    ("端木", &["duanmu"]),
    ("呼延", &["huyan"]),
];

/// The keys of one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameKeys {
    /// The name in simplified characters without separators (`None` for a Latin name).
    pub hanzi: Option<String>,
    /// Pinyin readings, lower case, syllables joined, ü as `v`; at most [`MAX_PINYIN_KEYS`].
    pub pinyin: Vec<String>,
}

/// Keys of a name typed in characters or in Latin letters (passport style).
pub(crate) fn name_keys(raw: &str) -> NameKeys {
    let name = normalise_name(raw);
    if name
        .chars()
        .all(|c| c.is_ascii() || matches!(c, 'Ü' | 'ü' | '·'))
    {
        let latin = fold_latin(&name);
        return NameKeys {
            hanzi: None,
            pinyin: if latin.is_empty() {
                vec![]
            } else {
                vec![latin]
            },
        };
    }
    let simplified: String = fast2s::convert(&name)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '·')
        .collect();
    let chars: Vec<char> = simplified.chars().collect();
    let (surname_len, surname) = surname_readings(&chars);
    let mut positions: Vec<Vec<String>> = vec![surname];
    positions.extend(chars[surname_len..].iter().map(|&c| readings(c)));
    NameKeys {
        pinyin: combinations(&positions),
        hanzi: Some(simplified),
    }
}

fn surname_readings(chars: &[char]) -> (usize, Vec<String>) {
    for len in [2, 1] {
        if chars.len() > len || (len == 1 && chars.len() == 1) {
            let head: String = chars[..len].iter().collect();
            if let Some((_, readings)) = SURNAMES.iter().find(|(s, _)| *s == head) {
                return (len, readings.iter().map(|r| (*r).to_owned()).collect());
            }
        }
    }
    match chars.first() {
        Some(&first) => (1, readings(first)),
        None => (0, vec![String::new()]),
    }
}

/// Every distinct toneless reading of a character, sorted; the character itself if it has
/// none (Latin letters, digits, rare characters).
fn readings(c: char) -> Vec<String> {
    let mut all: Vec<String> = c
        .to_pinyin_multi()
        .map(|multi| multi.into_iter().map(|p| fold_latin(p.plain())).collect())
        .unwrap_or_default();
    all.sort();
    all.dedup();
    if all.is_empty() {
        all.push(c.to_lowercase().collect());
    }
    all
}

/// The cartesian product of per-character readings, in lexicographic order of choices, cut
/// at [`MAX_PINYIN_KEYS`].
fn combinations(positions: &[Vec<String>]) -> Vec<String> {
    let mut keys = vec![String::new()];
    for choices in positions {
        let mut next = Vec::with_capacity(MAX_PINYIN_KEYS);
        'outer: for prefix in &keys {
            for choice in choices {
                if next.len() == MAX_PINYIN_KEYS {
                    break 'outer;
                }
                next.push(format!("{prefix}{choice}"));
            }
        }
        keys = next;
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Latin pinyin folded for comparison: lower case, letters only, ü (also `u:`, and `yu` after
/// l or n, as passports write it) as `v`.
fn fold_latin(text: &str) -> String {
    let lower = text.to_lowercase().replace("u:", "v").replace('ü', "v");
    let letters: String = lower.chars().filter(char::is_ascii_lowercase).collect();
    letters.replace("lyu", "lv").replace("nyu", "nv")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinyin(name: &str) -> Vec<String> {
        name_keys(name).pinyin
    }

    #[test]
    fn surnames_take_their_surname_reading() {
        for (name, key) in [
            ("曾伟", "zengwei"),
            ("单伟", "shanwei"),
            ("解伟", "xiewei"),
            ("区伟", "ouwei"),
            ("仇伟", "qiuwei"),
            ("朴伟", "piaowei"),
            ("欧阳伟", "ouyangwei"),
        ] {
            assert_eq!(pinyin(name), vec![key.to_owned()], "{name}");
        }
        // The default reading is not offered for the surname.
        assert!(!pinyin("曾伟").contains(&"cengwei".to_owned()));
        assert!(!pinyin("单伟").contains(&"danwei".to_owned()));
    }

    #[test]
    fn every_reading_of_a_polyphonic_given_name_is_kept() {
        let keys = pinyin("王长乐");
        for key in ["wangchangle", "wangchangyue", "wangzhangle", "wangzhangyue"] {
            assert!(
                keys.contains(&key.to_owned()),
                "{key} missing from {keys:?}"
            );
        }
        assert!(pinyin("王重").contains(&"wangchong".to_owned()));
        assert!(pinyin("王重").contains(&"wangzhong".to_owned()));
    }

    #[test]
    fn traditional_and_simplified_give_the_same_keys() {
        assert_eq!(name_keys("單國強"), name_keys("单国强"));
        assert_eq!(name_keys("樸志華"), name_keys("朴志华"));
        assert_eq!(name_keys("區偉"), name_keys("区伟"));
        assert_eq!(name_keys("單國強").hanzi.as_deref(), Some("单国强"));
    }

    #[test]
    fn u_umlaut_agrees_across_spellings() {
        let key = vec!["lvwei".to_owned()];
        assert_eq!(pinyin("吕伟"), key);
        assert_eq!(pinyin("LYU WEI"), key);
        assert_eq!(pinyin("Lü Wei"), key);
        assert_eq!(pinyin("LV WEI"), key);
        assert_eq!(pinyin("lu:wei"), key);
        assert!(pinyin("女").contains(&"nv".to_owned()));
        assert_eq!(pinyin("NYU"), vec!["nv".to_owned()]);
    }

    #[test]
    fn latin_names_match_their_characters() {
        assert_eq!(pinyin("ZENG WEI"), pinyin("曾伟"));
        // 强 reads qiang or jiang: the Latin spelling is one of the character keys.
        assert_eq!(pinyin("Shan Guoqiang"), vec!["shanguoqiang".to_owned()]);
        assert!(pinyin("单国强").contains(&"shanguoqiang".to_owned()));
        assert!(pinyin("单国强").contains(&"shanguojiang".to_owned()));
        assert_eq!(name_keys("ZENG WEI").hanzi, None);
    }

    #[test]
    fn rare_characters_without_a_reading_stand_for_themselves() {
        let keys = name_keys("𠮷伟");
        assert_eq!(keys.pinyin, vec!["𠮷wei".to_owned()]);
        assert_eq!(keys.hanzi.as_deref(), Some("𠮷伟"));
    }

    #[test]
    fn reading_combinations_are_capped_and_stable() {
        let name = "单单单单单单";
        let keys = pinyin(name);
        assert!(keys.len() <= MAX_PINYIN_KEYS);
        assert_eq!(keys, pinyin(name));
        assert!(pinyin("").is_empty());
    }
}
