//! Mutations of valid functions for the fuzz tests: by token tree and by text.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};

use super::tokens::{random_stream, IDENTS, PUNCTS};
use super::Rng;

/// Deletes, duplicates, replaces or inserts token trees, recursively.
pub(super) fn mutate_tree(rng: &mut Rng, ts: TokenStream, depth: u32) -> TokenStream {
    let mut out = Vec::new();
    for tt in ts {
        match rng.below(40) {
            0 => {}
            1 => {
                out.push(tt.clone());
                out.push(tt);
            }
            2 => out.extend(random_stream(rng, 2, 1)),
            3 => {
                out.push(tt);
                out.extend(random_stream(rng, 2, 1));
            }
            _ => match tt {
                TokenTree::Group(g) if depth < 8 => {
                    let delim = if rng.chance(30) {
                        *rng.pick(&[
                            Delimiter::Parenthesis,
                            Delimiter::Brace,
                            Delimiter::Bracket,
                            Delimiter::None,
                        ])
                    } else {
                        g.delimiter()
                    };
                    out.push(TokenTree::Group(Group::new(
                        delim,
                        mutate_tree(rng, g.stream(), depth + 1),
                    )));
                }
                other => out.push(other),
            },
        }
    }
    out.into_iter().collect()
}

/// Byte-ish edits of the text: cut, splice a fragment, duplicate a span.
pub(super) fn mutate_text(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(3) {
        let i = rng.below(chars.len() + 1);
        let j = (i + rng.below(8)).min(chars.len());
        match rng.below(3) {
            0 => {
                chars.drain(i..j);
            }
            1 => {
                let frag = if rng.chance(2) {
                    rng.pick(IDENTS).to_string()
                } else {
                    rng.pick(PUNCTS).to_string()
                };
                chars.splice(i..j, format!(" {frag} ").chars());
            }
            _ => {
                let span: Vec<char> = chars[i..j].to_vec();
                let k = rng.below(chars.len() + 1);
                chars.splice(k..k, span);
            }
        }
    }
    chars.into_iter().collect()
}
