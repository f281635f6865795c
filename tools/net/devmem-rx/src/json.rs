// SPDX-License-Identifier: GPL-2.0

//! A flat JSON object writer for the tool's machine-readable summaries.

use std::fmt::Write;

/// A JSON object being built, one field at a time.
#[derive(Default)]
pub struct Obj(String);

impl Obj {
    fn key(&mut self, k: &str) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        let _ = write!(self.0, "\"{k}\":");
    }

    /// A number field (non-finite numbers become `null`).
    pub fn num(mut self, k: &str, v: f64) -> Self {
        self.key(k);
        if v.is_finite() {
            let _ = write!(self.0, "{v}");
        } else {
            self.0.push_str("null");
        }
        self
    }

    /// An integer field.
    pub fn int(mut self, k: &str, v: u64) -> Self {
        self.key(k);
        let _ = write!(self.0, "{v}");
        self
    }

    /// A boolean field.
    pub fn bool(mut self, k: &str, v: bool) -> Self {
        self.key(k);
        let _ = write!(self.0, "{v}");
        self
    }

    /// A string field.
    pub fn str(mut self, k: &str, v: &str) -> Self {
        self.key(k);
        self.0.push('"');
        for c in v.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(self.0, "\\u{:04x}", c as u32);
                }
                c => self.0.push(c),
            }
        }
        self.0.push('"');
        self
    }

    /// A field holding raw JSON (an object or array made by this module).
    pub fn raw(mut self, k: &str, json: &str) -> Self {
        self.key(k);
        self.0.push_str(json);
        self
    }

    /// The finished object.
    pub fn finish(mut self) -> String {
        if self.0.is_empty() {
            self.0.push('{');
        }
        self.0.push('}');
        self.0
    }
}

/// A JSON array of finished objects.
pub fn array(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_json() {
        let inner = Obj::default().int("a", 1).finish();
        let s = Obj::default()
            .num("x", 1.5)
            .num("nan", f64::NAN)
            .str("s", "q\"\\\n")
            .bool("b", true)
            .raw("l", &array(&[inner.clone(), inner]))
            .finish();
        assert_eq!(
            s,
            r#"{"x":1.5,"nan":null,"s":"q\"\\\u000a","b":true,"l":[{"a":1},{"a":1}]}"#
        );
        assert_eq!(Obj::default().finish(), "{}");
    }
}
