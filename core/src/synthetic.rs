//! Synthetic registrations for `lgt seed`, benchmarks and tests. Deterministic for a seed.
//!
//! Names are random pairings of common surnames and given-name characters; addresses are in
//! the fictional 合成市 ("synthetic city"); identity numbers are valid but randomly drawn.
//! None of it describes a real person.

use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::identity;
use crate::registration::{
    Contact, DocumentInput, Dwelling, Employer, Householder, PersonInput, RegistrationInput,
};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "韦", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "段", "雷", "侯", "龙", "史",
    "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "覃", "武", "戴", "莫", "孔",
    "向", "汤", "单", "解", "区", "仇", "朴", "欧阳", "司马", "诸葛",
];

const GIVEN: &str = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强文斌晓东海燕红梅玉兰\
    春花子轩浩然梓涵欣怡宇航一鸣思远嘉怡佳琪雨轩子涵俊杰博文天佑若曦诗涵梦琪雅静紫萱晨阳昊天鑫磊家豪";

const REGIONS: &[&str] = &[
    "110101", "110105", "310104", "440305", "440106", "510107", "420106", "330106", "320102",
    "500103", "610113", "430102", "410105", "370102", "350102", "360102", "450103", "520102",
    "530102", "130102",
];

/// An endless, reproducible stream of synthetic registrations.
pub struct SyntheticPeople {
    rng: ChaCha8Rng,
    today: NaiveDate,
    given: Vec<char>,
}

impl SyntheticPeople {
    /// A stream for `seed`, with dates valid as of `today`.
    pub fn new(seed: u64, today: NaiveDate) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            today,
            given: GIVEN.chars().filter(|c| !c.is_whitespace()).collect(),
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn name(&mut self) -> String {
        let mut name = (*self.pick(SURNAMES)).to_owned();
        for _ in 0..self.rng.random_range(1..=2) {
            let c = self.given[self.rng.random_range(0..self.given.len())];
            name.push(c);
        }
        name
    }

    fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let days = (to - from).num_days().max(0);
        from + Duration::days(self.rng.random_range(0..=days))
    }

    fn identity_number(&mut self, birth: NaiveDate, male: bool) -> String {
        let region = *self.pick(REGIONS);
        let sequence = self.rng.random_range(0..500u32) * 2 + u32::from(male);
        let body = format!("{region}{}{sequence:03}", birth.format("%Y%m%d"));
        let check = identity::check_character(&body).unwrap_or('0');
        format!("{body}{check}")
    }

    fn phone(&mut self) -> String {
        format!("1990000{:04}", self.rng.random_range(0..10_000))
    }

    /// The next synthetic registration.
    pub fn next_registration(&mut self) -> RegistrationInput {
        let male = self.rng.random_bool(0.5);
        let oldest = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or(self.today);
        let youngest = self.today - Duration::days(18 * 366);
        let birth = self.date_between(oldest, youngest);
        let number = self.identity_number(birth, male);
        let adult_from = birth
            .with_year(birth.year() + 16)
            .unwrap_or(birth + Duration::days(16 * 366));
        let moved_in =
            self.date_between(adult_from.max(self.today - Duration::days(730)), self.today);
        let district = self.rng.random_range(1..=9);
        let street = self.rng.random_range(1..=400);
        let room = self.rng.random_range(101..=2999);
        let rented = self.rng.random_bool(0.7);
        RegistrationInput {
            person: PersonInput {
                name: self.name(),
                former_name: None,
                sex: if male { "1" } else { "2" }.into(),
                ethnicity: if self.rng.random_bool(0.9) {
                    "01".into()
                } else {
                    format!("{:02}", self.rng.random_range(2..=56))
                },
                birth_date: Some(birth.to_string()),
            },
            document: DocumentInput {
                doc_type: "1".into(),
                number,
            },
            household_address: format!(
                "合成省第{}县演示村{}组",
                self.rng.random_range(1..=99),
                self.rng.random_range(1..=20)
            ),
            dwelling: Dwelling {
                house_code: format!("HC{district}{street:04}{room:04}"),
                address: format!("合成市第{district}区演示路{street}号{room}室"),
                housing_type: if rented { "2" } else { "3" }.into(),
            },
            moved_in: moved_in.to_string(),
            expected_stay_until: Some((moved_in + Duration::days(365)).to_string()),
            reason_for_stay: format!("{}", self.rng.random_range(1..=14)),
            occupation: format!("{}", self.rng.random_range(1..=13)),
            employer: self.rng.random_bool(0.6).then(|| Employer {
                name: format!("合成科技有限公司第{}分公司", self.rng.random_range(1..=500)),
                credit_code: None,
            }),
            landlord: rented.then(|| Contact {
                name: self.name(),
                phone: self.phone(),
            }),
            householder: Some(Householder {
                name: self.name(),
                relation: "99".into(),
            }),
            contact_phone: Some(self.phone()),
        }
    }
}

impl Iterator for SyntheticPeople {
    type Item = RegistrationInput;

    fn next(&mut self) -> Option<RegistrationInput> {
        Some(self.next_registration())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registration::validate;

    #[test]
    fn synthetic_registrations_are_valid_and_reproducible() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let a: Vec<_> = SyntheticPeople::new(7, today).take(500).collect();
        let b: Vec<_> = SyntheticPeople::new(7, today).take(500).collect();
        assert_eq!(a, b);
        for input in &a {
            if let Err(e) = validate(input, today) {
                panic!("synthetic registration invalid: {e}");
            }
        }
        let c: Vec<_> = SyntheticPeople::new(8, today).take(5).collect();
        assert_ne!(a[..5], c[..]);
    }
}
