//! Records: envelopes, statements, predicates and drafts (`assure-model`).

use assure_model::dsse::{Envelope, PAYLOAD_TYPE, Signature};
use assure_model::{Catalog, Draft, Kind, Predicate, RecordId, parse, validate};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::{key, now, text};

/// An untrusted envelope through `parse` and `validate`. An envelope that
/// validates validates again, as the same record, once re-serialized.
pub fn envelope(data: &[u8]) {
    let parsed = assure_model::parse(data, now());
    let validated = validate(data, now());
    assert!(
        parsed.is_ok() || validated.is_err(),
        "validated but not parsed"
    );
    if let Ok(record) = validated {
        let again = validate(&record.envelope.to_bytes(), now())
            .unwrap_or_else(|e| panic!("a valid envelope re-serialized is refused: {e}"));
        assert_eq!(again.id, record.id);
        assert_eq!(again.predicate, record.predicate);
    }
}

/// Arbitrary bytes as the statement of an envelope signed by [`key`]: the
/// statement and predicate decoders and every rule of `validate` past the
/// signature check.
///
/// Signing and verifying would be most of the time an input takes, so the
/// rules are first checked by `parse` under a placeholder signature, and
/// only a statement that passes them is signed for real: it must then
/// validate, as the record the statement names.
pub fn statement(data: &[u8]) {
    let placeholder = Envelope {
        payload: BASE64.encode(data),
        payload_type: PAYLOAD_TYPE.to_owned(),
        signatures: vec![Signature {
            keyid: key().did().to_string(),
            sig: BASE64.encode([0; 64]),
        }],
    };
    if parse(&placeholder.to_bytes(), now()).is_err() {
        return;
    }
    let bytes = Envelope::sign(data, key()).to_bytes();
    let record = validate(&bytes, now())
        .unwrap_or_else(|e| panic!("a statement that parses is refused once signed: {e}"));
    assert_eq!(record.id, RecordId::of(PAYLOAD_TYPE, data));
    assert_eq!(record.issuer(), key().did());
}

/// A predicate of the kind the first byte picks, from the JSON after it. A
/// predicate that decodes decodes again, equal, from its own JSON.
pub fn predicate(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(first) % Kind::ALL.len()];
    let Some(json) = text(rest) else { return };
    if let Ok(predicate) = Predicate::from_json(kind, json) {
        let again = Predicate::from_json(kind, &predicate.to_value().to_string())
            .unwrap_or_else(|e| panic!("a predicate's own JSON is refused: {e}"));
        assert_eq!(again, predicate);
    }
}

/// A draft in JSON. See [`signs_valid`].
pub fn draft_json(data: &[u8]) {
    if let Ok(draft) = Draft::from_json(data) {
        signs_valid(draft);
    }
}

/// A draft in TOML. See [`signs_valid`].
pub fn draft_toml(data: &[u8]) {
    if let Some(Ok(draft)) = text(data).map(Draft::from_toml) {
        signs_valid(draft);
    }
}

/// Whatever a draft signs, `validate` accepts as the same record.
fn signs_valid(draft: Draft) {
    if let Ok((bytes, record)) = draft.sign(key(), now(), Catalog::builtin()) {
        let validated = validate(&bytes, now())
            .unwrap_or_else(|e| panic!("a signed draft does not validate: {e}"));
        assert_eq!(validated, record);
    }
}
