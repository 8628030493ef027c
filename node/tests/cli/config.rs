//! The configuration file: the example parses, and a wrong file is refused
//! with the file, the field and what was expected.

use std::path::Path;

use assure_node::NodeConfig;

fn parse(text: &str) -> Result<NodeConfig, String> {
    NodeConfig::parse(Path::new("/etc/assure/node.toml"), text).map_err(|e| e.to_string())
}

#[test]
fn the_documented_example_parses() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/node.example.toml");
    let config = NodeConfig::load(&file).unwrap();
    assert_eq!(config.net.listen.len(), 1);
    assert_eq!(config.net.limits.requests_per_second, 200);
    assert!(config.data_dir.ends_with("config/../assure-data"));
    let supplies = |s: &str| config.verify.profile_for(&[s.to_owned()]).unwrap();
    assert!(supplies("Road Haulage").ends_with("profiles/logistics-provider.toml"));
    assert!(supplies("castings").ends_with("profiles/component-supplier.toml"));
    let api = config.api.expect("the API is on");
    assert_eq!(api.session, std::time::Duration::from_secs(8 * 3600));
    assert_eq!(api.login_link, std::time::Duration::from_secs(600));
    assert!(!api.secure_cookies);
    assert_eq!(api.authorities, None, "derived from api.listen by default");
    assert_eq!(api.scheme, assure_api::signature::Scheme::Http);
}

#[test]
fn wrong_files_are_refused_with_file_field_and_expectation() {
    let cases = [
        ("listen = [\"not an address\"]", "listen[0]", "multiaddr"),
        ("lisen = []", "unknown field `lisen`", "expected one of"),
        ("poll_interval = \"soon\"", "poll_interval", ""),
        ("poll_interval = \"1ms\"", "poll_interval", "at least 100ms"),
        ("[limits]\nmax_connections = -1", "max_connections", ""),
        (
            "[limits]\nmax_response_bytes = 1024",
            "limits.max_response_bytes",
            "at least 5 MiB",
        ),
        (
            "[limits]\nrequests_per_second = 0",
            "requests_per_second",
            "at least 1",
        ),
        (
            "[[bootstrap]]\ndid = \"did:web:x\"\naddress = \"/ip4/127.0.0.1/tcp/1\"",
            "bootstrap[0].did",
            "did:key",
        ),
        (
            "[[bootstrap]]\ndid = \"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK\"",
            "address",
            "missing field",
        ),
        ("trust_anchors = [\"alice\"]", "trust_anchors[0]", "did:key"),
        ("[api]\nauthorities = []", "api.authorities", "at least one"),
        (
            "[api]\nauthorities = [\"ok.example\", \"a.example/path\"]",
            "api.authorities[1]",
            "host or host:port",
        ),
        (
            "[api]\nscheme = \"ftp\"",
            "api.scheme",
            "\"http\" or \"https\"",
        ),
        ("[log]\nlevel = 3", "level", "invalid type"),
        ("[api]\nsession = \"8\"", "session", ""),
        ("[api]\nsession = \"30s\"", "api.session", "at least 1m"),
        (
            "[api]\nlogin_link = \"1s\"",
            "api.login_link",
            "at least 1m",
        ),
        (
            "[api]\nsecure_cookies = \"yes\"",
            "secure_cookies",
            "invalid type",
        ),
        (
            "[verify]\ndefault_profile = \"nowhere.toml\"",
            "verify.default_profile",
            "/etc/assure/nowhere.toml does not exist",
        ),
        (
            "[[verify.profile]]\nprofile = \"p.toml\"",
            "supplies",
            "missing field",
        ),
    ];
    for (text, field, expected) in cases {
        let error = parse(text).expect_err(text);
        assert!(error.starts_with("/etc/assure/node.toml"), "{error}");
        assert!(error.contains(field), "`{field}` not in: {error}");
        assert!(error.contains(expected), "`{expected}` not in: {error}");
    }
}

#[test]
fn an_empty_file_is_a_working_configuration() {
    let config = parse("").unwrap();
    assert_eq!(config.data_dir, Path::new("/etc/assure/assure-data"));
    assert!(config.net.bootstrap.is_empty());
    let api = parse("[api]\nsession = \"30m\"\nsecure_cookies = true")
        .unwrap()
        .api
        .unwrap();
    assert_eq!(api.session, std::time::Duration::from_secs(1800));
    assert!(api.secure_cookies);
}

#[test]
fn the_docker_demo_configurations_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let profiles = root.join("config/profiles");
    for name in ["manufacturer", "supplier", "logistics", "regulator"] {
        let file = root.join(format!("config/demo/{name}.toml"));
        // In the container the profiles are in /etc/assure/profiles.
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("/etc/assure/profiles", profiles.to_str().unwrap());
        let config = NodeConfig::parse(&file, &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.data_dir, Path::new("/data"));
        assert!(!config.net.bootstrap.is_empty(), "{name} names its peers");
        assert_eq!(config.trust_anchors.len(), 1);
        let api = config.api.expect("the API is on");
        assert_eq!(api.listen.port(), 8080, "compose publishes 8080");
        // A signed request from the host goes to the published port.
        let compose = std::fs::read_to_string(root.join("docker/compose.yml")).unwrap();
        let service = &compose[compose.find(&format!("  {name}:")).unwrap()..];
        let published = service
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .unwrap();
        let authorities = api.authorities.expect("the demo names its authorities");
        assert!(
            authorities.contains(&format!("127.0.0.1:{published}")),
            "{name}: {authorities:?}"
        );
        // Bootstrap addresses are the compose network's fixed addresses.
        for (_, address) in &config.net.bootstrap {
            assert!(
                address.to_string().starts_with("/ip4/172.28.0."),
                "{address}"
            );
        }
    }
    let compose = std::fs::read_to_string(root.join("docker/compose.yml")).unwrap();
    for name in ["manufacturer", "supplier", "logistics", "regulator"] {
        assert!(compose.contains(&format!(
            "../config/demo/{name}.toml:/etc/assure/node.toml:ro"
        )));
    }
}
