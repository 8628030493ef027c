//! Signed checkpoints: round trips, signatures by several keys, forgeries,
//! tampering, and every way a malformed note is refused.
#![allow(clippy::unwrap_used)]

use assure_log::{
    Checkpoint, CheckpointError, MAX_NOTE_LEN, NoteError, NoteSignature, SignedCheckpoint,
    key_hash, origin,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey};
use proptest::prelude::*;

const LOG: &str = "did:key:z6MkLog";
const WITNESS_A: &str = "did:key:z6MkWitnessA";
const WITNESS_B: &str = "did:key:z6MkWitnessB";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn checkpoint() -> Checkpoint {
    let origin = origin(LOG, &[0xab; 16]);
    Checkpoint::new(origin, 1234, [0x5a; 32], 1_795_336_200).unwrap()
}

fn signed() -> SignedCheckpoint {
    SignedCheckpoint::sign(checkpoint(), LOG, &key(1)).unwrap()
}

#[test]
fn a_signed_checkpoint_round_trips_byte_for_byte() {
    let signed = signed();
    let text = signed.to_text();
    assert!(text.starts_with(&format!("{}\n1234\n", origin(LOG, &[0xab; 16]))));
    assert!(text.contains("\ntimestamp 2026-11-22T08:30:00Z\n\n\u{2014} did:key:z6MkLog "));
    let parsed: SignedCheckpoint = text.parse().unwrap();
    assert_eq!(parsed, signed);
    assert_eq!(parsed.to_text(), text);
    assert_eq!(parsed.verify(LOG, &key(1).verifying_key()), Ok(()));
    assert!(parsed.signed_by(LOG));
    assert!(!parsed.signed_by(WITNESS_A));
}

#[test]
fn witnesses_add_their_signatures() {
    let mut signed = signed();
    signed.add_signature(WITNESS_A, &key(2)).unwrap();
    signed.add_signature(WITNESS_B, &key(3)).unwrap();
    let parsed = SignedCheckpoint::parse(&signed.to_text()).unwrap();
    assert_eq!(parsed.to_text(), signed.to_text());
    let names: Vec<&str> = parsed.signatures().iter().map(|s| s.key_name()).collect();
    assert_eq!(names, [LOG, WITNESS_A, WITNESS_B]);
    for (name, seed) in [(LOG, 1), (WITNESS_A, 2), (WITNESS_B, 3)] {
        assert_eq!(
            parsed.verify(name, &key(seed).verifying_key()),
            Ok(()),
            "{name}"
        );
        assert!(parsed.signed_by(name));
    }
    // The same key may sign under two names; the same name and key only once.
    signed.add_signature("did:key:z6MkOther", &key(2)).unwrap();
    assert_eq!(
        signed.add_signature(WITNESS_A, &key(2)),
        Err(NoteError::DuplicateSignature(WITNESS_A.into()))
    );
}

#[test]
fn signatures_of_unknown_algorithms_are_kept_and_ignored() {
    let mut signed = signed();
    // A timestamped cosignature (tlog-cosignature) has 8 + 64 bytes.
    let cosignature = NoteSignature::new("witness.example/w1", [1, 2, 3, 4], vec![7; 72]).unwrap();
    signed.push_signature(cosignature.clone()).unwrap();
    let parsed = SignedCheckpoint::parse(&signed.to_text()).unwrap();
    assert_eq!(parsed.signatures()[1], cosignature);
    assert_eq!(parsed.to_text(), signed.to_text());
    assert_eq!(parsed.verify(LOG, &key(1).verifying_key()), Ok(()));
    assert_eq!(
        parsed.verify("witness.example/w1", &key(2).verifying_key()),
        Err(NoteError::NotSigned("witness.example/w1".into()))
    );
}

#[test]
fn the_wrong_key_or_name_finds_no_signature() {
    let signed = signed();
    assert_eq!(
        signed.verify(LOG, &key(2).verifying_key()),
        Err(NoteError::NotSigned(LOG.into()))
    );
    assert_eq!(
        signed.verify(WITNESS_A, &key(1).verifying_key()),
        Err(NoteError::NotSigned(WITNESS_A.into()))
    );
}

#[test]
fn a_signature_by_another_key_under_the_claimed_hash_is_refused() {
    let mut signed = SignedCheckpoint::sign(checkpoint(), WITNESS_A, &key(2)).unwrap();
    let impostor = key(9)
        .sign(checkpoint().body().as_bytes())
        .to_bytes()
        .to_vec();
    let claimed_hash = key_hash(LOG, &key(1).verifying_key());
    signed
        .push_signature(NoteSignature::new(LOG, claimed_hash, impostor).unwrap())
        .unwrap();
    assert!(signed.signed_by(LOG));
    assert_eq!(
        signed.verify(LOG, &key(1).verifying_key()),
        Err(NoteError::BadSignature(LOG.into()))
    );
}

#[test]
fn a_forged_signature_is_refused() {
    let text = signed().to_text();
    let (head, encoded) = text.trim_end().rsplit_once(' ').unwrap();
    let mut bytes = STANDARD.decode(encoded).unwrap();
    for position in [4, 20, 67] {
        bytes[position] ^= 0x01;
        let forged = format!("{head} {}\n", STANDARD.encode(&bytes));
        bytes[position] ^= 0x01;
        let parsed = SignedCheckpoint::parse(&forged).unwrap();
        assert_eq!(
            parsed.verify(LOG, &key(1).verifying_key()),
            Err(NoteError::BadSignature(LOG.into())),
            "byte {position}"
        );
    }
}

#[test]
fn a_tampered_body_no_longer_verifies() {
    let text = signed().to_text();
    let other_root = STANDARD.encode([0x5b; 32]);
    let edits = [
        ("\n1234\n", "\n1235\n"),
        (&*STANDARD.encode([0x5a; 32]), &*other_root),
        ("assure/did:key:z6MkLog/", "assure/did:key:z6MkLoh/"),
        ("08:30:00Z", "08:30:01Z"),
    ];
    for (from, to) in edits {
        let tampered = text.replacen(from, to, 1);
        assert_ne!(tampered, text);
        let parsed = SignedCheckpoint::parse(&tampered).unwrap();
        assert_eq!(
            parsed.verify(LOG, &key(1).verifying_key()),
            Err(NoteError::BadSignature(LOG.into())),
            "{from} -> {to}"
        );
    }
}

/// Go's golang.org/x/mod/sumdb/note example (`ExampleSign`): the key hash and
/// signature line must come out byte for byte.
#[test]
fn key_hash_and_signature_line_match_go_sumdb_note() {
    let seed = STANDARD
        .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
        .unwrap();
    assert_eq!(seed[0], 0x01, "algorithm byte");
    let key = SigningKey::from_bytes(&seed[1..].try_into().unwrap());
    let hash = key_hash("PeterNeumann", &key.verifying_key());
    assert_eq!(hash, [0xc7, 0x4f, 0x20, 0xa3]);
    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    let signature = key.sign(text.as_bytes()).to_bytes().to_vec();
    let line = NoteSignature::new("PeterNeumann", hash, signature).unwrap();
    assert_eq!(
        line.to_string(),
        "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
    );
}

/// Malformed notes are refused, each kind of fault with its own error.
fn assert_refused(cases: Vec<(&str, String, NoteError)>, distinct: usize) {
    let mut seen: Vec<NoteError> = Vec::new();
    for (what, text, expected) in cases {
        let error = SignedCheckpoint::parse(&text).unwrap_err();
        assert_eq!(error, expected, "{what}");
        if !seen.contains(&error) {
            seen.push(error);
        }
    }
    assert_eq!(seen.len(), distinct);
}

/// The parts of a signed example note, for building malformed ones.
struct Parts {
    text: String,
    body: String,
    signature: String,
}

fn parts() -> Parts {
    let text = signed().to_text();
    let (body, signature) = text.split_once("\n\n").unwrap();
    Parts {
        body: format!("{body}\n"),
        signature: signature.to_owned(),
        text: text.clone(),
    }
}

#[test]
fn malformed_note_framing_is_refused() {
    let Parts {
        text,
        body,
        signature,
    } = parts();
    let with_body = |body: &str| format!("{body}\n{signature}");
    let line = |bytes: &[u8]| format!("\u{2014} {LOG} {}\n", STANDARD.encode(bytes));
    let cases: Vec<(&str, String, NoteError)> = vec![
        (
            "oversize",
            with_body(&format!("{body}{}\n", "x".repeat(MAX_NOTE_LEN))),
            NoteError::TooLarge {
                len: text.len() + MAX_NOTE_LEN + 1,
            },
        ),
        (
            "carriage return",
            text.replacen('\n', "\r\n", 1),
            NoteError::CarriageReturn,
        ),
        (
            "tab",
            text.replacen("assure", "ass\ture", 1),
            NoteError::ControlCharacter,
        ),
        (
            "no final newline",
            text.trim_end().to_owned(),
            NoteError::MissingFinalNewline,
        ),
        (
            "no blank line",
            text.replacen("\n\n", "\n", 1),
            NoteError::MissingBlankLine,
        ),
        (
            "no signatures",
            format!("{body}\n"),
            NoteError::NoSignatures,
        ),
        (
            "101 signatures",
            format!("{body}\n{}", "\u{2014} a\n".repeat(101)),
            NoteError::TooManySignatures,
        ),
        (
            "ascii dashes",
            text.replacen('\u{2014}', "--", 1),
            NoteError::MalformedSignatureLine { line: 1 },
        ),
        (
            "no signature",
            format!("{body}\n\u{2014} {LOG}\n"),
            NoteError::MalformedSignatureLine { line: 1 },
        ),
        (
            "plus in key name",
            text.replacen("\u{2014} did", "\u{2014} +did", 1),
            NoteError::InvalidKeyName(format!("+{LOG}")),
        ),
        (
            "bad base64",
            format!("{body}\n\u{2014} {LOG} !!!!\n"),
            NoteError::BadSignatureEncoding,
        ),
        (
            "short signature",
            format!("{body}\n{}", line(&[1, 2, 3, 4])),
            NoteError::BadSignatureEncoding,
        ),
        (
            "duplicate",
            format!("{text}{signature}"),
            NoteError::DuplicateSignature(LOG.into()),
        ),
    ];
    // Two ways each into MalformedSignatureLine and BadSignatureEncoding.
    assert_refused(cases, 11);
}

#[test]
fn malformed_checkpoint_bodies_are_refused() {
    let Parts {
        body, signature, ..
    } = parts();
    let with_body = |body: &str| format!("{body}\n{signature}");
    let root = STANDARD.encode([0x5a; 32]);
    let cases: Vec<(&str, String, NoteError)> = vec![
        (
            "empty origin",
            with_body(&format!("\n{body}")),
            CheckpointError::EmptyLine { line: 1 }.into(),
        ),
        (
            "space in origin",
            with_body(&body.replacen("assure/", "assure/ ", 1)),
            CheckpointError::InvalidOrigin.into(),
        ),
        (
            "three lines",
            with_body(&body.replacen("timestamp 2026-11-22T08:30:00Z\n", "", 1)),
            CheckpointError::MissingLine("timestamp").into(),
        ),
        (
            "signed size",
            with_body(&body.replacen("\n1234\n", "\n+1234\n", 1)),
            CheckpointError::BadSize.into(),
        ),
        (
            "huge size",
            with_body(&body.replacen("\n1234\n", "\n18446744073709551616\n", 1)),
            CheckpointError::BadSize.into(),
        ),
        (
            "leading zero",
            with_body(&body.replacen("\n1234\n", "\n01234\n", 1)),
            CheckpointError::NonCanonicalSize.into(),
        ),
        (
            "unpadded root",
            with_body(&body.replacen('=', "", 1)),
            CheckpointError::BadRootEncoding.into(),
        ),
        (
            "short root",
            with_body(&body.replacen(&root, &STANDARD.encode([0x5a; 31]), 1)),
            CheckpointError::RootLength { len: 31 }.into(),
        ),
        (
            "no timestamp",
            with_body(&body.replacen("timestamp ", "time ", 1)),
            CheckpointError::MissingTimestamp.into(),
        ),
        (
            "unix timestamp",
            with_body(&body.replacen("2026-11-22T08:30:00Z", "1795336200", 1)),
            CheckpointError::BadTimestamp.into(),
        ),
        (
            "two timestamps",
            with_body(&format!("{body}timestamp 2026-11-22T08:30:00Z\n")),
            CheckpointError::DuplicateTimestamp.into(),
        ),
        (
            "delete in extension",
            with_body(&format!("{body}x\u{7f}\n")),
            CheckpointError::InvalidExtension.into(),
        ),
    ];
    // Two ways into BadSize.
    assert_refused(cases, 11);
}

#[test]
fn a_root_with_stray_trailing_bits_is_refused() {
    let text = signed().to_text();
    let root = STANDARD.encode([0x5a; 32]);
    // The last character before `=` carries two unused bits.
    let mut stray = root.clone().into_bytes();
    stray[42] += 1;
    let stray = String::from_utf8(stray).unwrap();
    let tampered = text.replacen(&root, &stray, 1);
    assert_eq!(
        SignedCheckpoint::parse(&tampered),
        Err(CheckpointError::BadRootEncoding.into())
    );
}

fn arbitrary_checkpoint() -> impl Strategy<Value = Checkpoint> {
    let extension = "[a-zA-Z0-9 ,.=_/-]{1,30}"
        .prop_filter("not a timestamp", |line| !line.starts_with("timestamp "));
    (
        "[a-z0-9:/._-]{1,60}",
        any::<u64>(),
        any::<[u8; 32]>(),
        0..=253_402_300_799i64,
        prop::collection::vec(extension, 0..3),
    )
        .prop_map(|(origin, size, root, timestamp, extensions)| {
            let checkpoint = Checkpoint::new(origin, size, root, timestamp).unwrap();
            extensions
                .into_iter()
                .fold(checkpoint, |c, line| c.with_extension(line).unwrap())
        })
}

proptest! {
    #[test]
    fn bodies_round_trip(checkpoint in arbitrary_checkpoint()) {
        let body = checkpoint.body();
        let parsed = Checkpoint::parse_body(&body).unwrap();
        prop_assert_eq!(parsed.body(), body);
        prop_assert_eq!(parsed, checkpoint);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = SignedCheckpoint::parse(&text);
    }
}

// Ed25519 is slow in debug builds: fewer cases for the tests that sign.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn notes_round_trip_and_verify(checkpoint in arbitrary_checkpoint(), signers in 1..4u8) {
        let mut signed = SignedCheckpoint::sign(checkpoint, LOG, &key(1)).unwrap();
        for seed in 2..=signers {
            signed.add_signature(&format!("did:key:w{seed}"), &key(seed)).unwrap();
        }
        let text = signed.to_text();
        let parsed = SignedCheckpoint::parse(&text).unwrap();
        prop_assert_eq!(&parsed.to_text(), &text);
        prop_assert_eq!(&parsed, &signed);
        prop_assert_eq!(parsed.verify(LOG, &key(1).verifying_key()), Ok(()));
        for seed in 2..=signers {
            let name = format!("did:key:w{seed}");
            prop_assert_eq!(parsed.verify(&name, &key(seed).verifying_key()), Ok(()));
        }
    }

    /// Any one-character edit of a note makes it unparsable or unverifiable.
    #[test]
    fn single_character_edits_are_caught(
        checkpoint in arbitrary_checkpoint(),
        position in any::<prop::sample::Index>(),
        replacement in prop::sample::select(vec!['\n', ' ', '0', '9', 'a', 'A', '=', '+', '/', '\u{2014}']),
    ) {
        let text = SignedCheckpoint::sign(checkpoint, LOG, &key(1)).unwrap().to_text();
        let mut chars: Vec<char> = text.chars().collect();
        let at = position.index(chars.len());
        prop_assume!(chars[at] != replacement);
        chars[at] = replacement;
        let edited: String = chars.into_iter().collect();
        if let Ok(parsed) = SignedCheckpoint::parse(&edited) {
            prop_assert!(parsed.verify(LOG, &key(1).verifying_key()).is_err());
        }
    }

}
