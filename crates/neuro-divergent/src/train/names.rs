//! Choices written as lower-case words in parameters (`optimizer=adamw`,
//! `lr_scheduler=cosine`): one macro gives such an enum its spelling, parsing in any case with
//! an error that lists the choices, and serde as the word.

/// Implements, for a fieldless enum, `ALL`, `as_str`, `Display`, `FromStr` (any case; an
/// unknown word is a `Config` error naming the parameter and listing the choices),
/// `TryFrom<String>` and `Into<String>` (for `#[serde(try_from = "String", into = "String")]`).
macro_rules! word_choices {
    ($ty:ident, $param:literal, $plural:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            #[doc = concat!("Every choice of `", $param, "`, in the order listed in messages.")]
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            #[doc = concat!("The word that selects this choice in `", $param, "`.")]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $word,)+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = crate::error::Error;

            fn from_str(text: &str) -> crate::error::Result<$ty> {
                let wanted = text.trim().to_ascii_lowercase();
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|choice| choice.as_str() == wanted)
                    .ok_or_else(|| {
                        let words: Vec<&str> = $ty::ALL.iter().map(|c| c.as_str()).collect();
                        crate::error::Error::Config(format!(
                            concat!("unknown ", $param, " '{}': available ", $plural, " are {}"),
                            text,
                            words.join(", ")
                        ))
                    })
            }
        }

        impl TryFrom<String> for $ty {
            type Error = crate::error::Error;

            fn try_from(text: String) -> crate::error::Result<$ty> {
                text.parse()
            }
        }

        impl From<$ty> for String {
            fn from(choice: $ty) -> String {
                choice.as_str().to_string()
            }
        }
    };
}

pub(crate) use word_choices;
