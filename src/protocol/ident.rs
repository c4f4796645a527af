//! Health idents: the name under which a process announces itself.

use std::fmt;

/// A process's health ident: `<hostname>-pid-<pid>-uuid-<uuid>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident(pub String);

impl Ident {
    /// A new ident for this process.
    pub fn for_this_process() -> Self {
        let host = hostname::get()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        Ident(format!(
            "{host}-pid-{}-uuid-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ))
    }

    /// The ident as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ident_has_the_go_shape() {
        let ident = Ident::for_this_process();
        let pid = format!("-pid-{}-uuid-", std::process::id());
        assert!(ident.as_str().contains(&pid), "{ident}");
        let uuid = ident.as_str().rsplit("-uuid-").next().unwrap_or_default();
        assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{ident}");
    }
}
