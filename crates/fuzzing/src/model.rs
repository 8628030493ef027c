//! Records: envelopes, statements, predicates and drafts (`assure-model`).

use assure_model::dsse::{Envelope, PAYLOAD_TYPE};
use assure_model::{Catalog, Draft, Kind, Predicate, RecordId, validate};

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
pub fn statement(data: &[u8]) {
    let bytes = Envelope::sign(data, &key()).to_bytes();
    if let Ok(record) = validate(&bytes, now()) {
        assert_eq!(record.id, RecordId::of(PAYLOAD_TYPE, data));
        assert_eq!(record.issuer(), key().did());
    }
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
    if let Ok((bytes, record)) = draft.sign(&key(), now(), Catalog::builtin()) {
        let validated = validate(&bytes, now())
            .unwrap_or_else(|e| panic!("a signed draft does not validate: {e}"));
        assert_eq!(validated, record);
    }
}
