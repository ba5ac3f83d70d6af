//! The categories this policy can return.

/// A content category, as named in verdicts and in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Sexual content involving minors.
    SexualMinors,
    /// Graphic violence and violence against real people.
    Violence,
    /// Terrorist attacks, propaganda and weapons instructions.
    Terrorism,
    /// Suicide and self-harm, or promoting eating disorders.
    SelfHarm,
    /// Hate speech and dehumanisation of protected groups.
    Hate,
    /// Sexual or defamatory depictions of real people.
    Deepfake,
    /// Forged documents and money, phishing, malware.
    Fraud,
    /// Trademark and copyright infringement, watermark removal.
    IpInfringement,
}

impl Category {
    /// Every category, in the order `describe` lists them.
    pub const ALL: [Category; 8] = [
        Category::SexualMinors,
        Category::Violence,
        Category::Terrorism,
        Category::SelfHarm,
        Category::Hate,
        Category::Deepfake,
        Category::Fraud,
        Category::IpInfringement,
    ];

    /// The category's name in verdicts and configuration.
    pub const fn name(self) -> &'static str {
        match self {
            Category::SexualMinors => "sexual_minors",
            Category::Violence => "violence",
            Category::Terrorism => "terrorism",
            Category::SelfHarm => "self_harm",
            Category::Hate => "hate",
            Category::Deepfake => "deepfake",
            Category::Fraud => "fraud",
            Category::IpInfringement => "ip_infringement",
        }
    }

    /// The category called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Its position in [`Category::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
