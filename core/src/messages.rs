//! The message catalogue: what a coordinator or supervisor reads, in Chinese first and
//! English beside it, keyed by the stable error code.

/// The language of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese (zh-CN): the default.
    #[default]
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// The language a POSIX locale (`LANG`, `LC_ALL`, `LC_MESSAGES`) or a tag such as `zh-CN`
    /// or `en` names; `None` for another language.
    pub fn from_locale(locale: &str) -> Option<Self> {
        let tag = locale.trim().to_ascii_lowercase();
        if tag.starts_with("zh") {
            Some(Self::ZhCn)
        } else if tag.starts_with("en") || tag == "c" || tag.starts_with("c.") || tag == "posix" {
            Some(Self::En)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn locales_name_their_language() {
        assert_eq!(Lang::from_locale("zh_CN.UTF-8"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_locale("zh-CN"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_locale("en_US.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::from_locale("C.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::from_locale("fr_FR.UTF-8"), None);
    }
}
