//! `assure run`: the long-lived node, until ctrl-c or SIGTERM.

use std::path::Path;

use anyhow::{Context as _, Result};
use assure_net::Event;
use assure_node::{Node, NodeConfig};
use tracing_subscriber::EnvFilter;

pub(super) fn run(config: &Path) -> Result<()> {
    let config = NodeConfig::load(config)?;
    let filter = EnvFilter::try_new(&config.log_level)
        .with_context(|| format!("log level `{}` is not a tracing filter", config.log_level))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))
}

async fn serve(config: NodeConfig) -> Result<()> {
    let node = Node::spawn(config).await?;
    let mut events = node.client().events();
    let peer = assure_net::peer_id(&node.did());
    println!("node {}", node.did());
    for replica in node.store().quarantined() {
        println!(
            "quarantined {} {}: {replica}",
            replica.log.origin, replica.log.compartment
        );
    }
    // Addresses bound before we subscribed are printed from the listener list;
    // later ones arrive as events. Each is printed once.
    let mut printed = std::collections::HashSet::new();
    for address in node.client().listeners().await? {
        if printed.insert(address.clone()) {
            println!("listening {address}/p2p/{peer}");
        }
    }
    // Likewise the peers connected before we subscribed (the peer book is
    // dialled at start): each connection and disconnection is printed once.
    let mut connected = std::collections::HashSet::new();
    for peer in node.client().peers().await? {
        if connected.insert(peer) {
            println!("connected {peer}");
        }
    }
    if let Some(address) = node.api_address() {
        println!("api http://{address}");
        println!(
            "dashboard http://{address}/ (sign in at /login with the token in {}, or open the \
             one-time link `assure dashboard-link` prints)",
            config_token_hint(&node)
        );
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            event = events.recv() => match event {
                Ok(Event::Listening(address)) => {
                    if printed.insert(address.clone()) {
                        println!("listening {address}/p2p/{peer}");
                    }
                }
                Ok(Event::Connected(peer)) => {
                    if connected.insert(peer) {
                        println!("connected {peer}");
                    }
                }
                Ok(Event::Disconnected(peer)) => {
                    if connected.remove(&peer) {
                        println!("disconnected {peer}");
                    }
                }
                Ok(Event::Synced { log, size }) => {
                    println!("synced {} {} {size}", log.origin, log.compartment);
                }
                Ok(Event::Equivocation { log }) => println!("equivocation {}", log.origin),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    eprintln!("shutting down: network, then store");
    node.shutdown().await
}

fn config_token_hint(node: &Node) -> String {
    node.store()
        .dir()
        .join(assure_node::datadir::TOKEN_FILE)
        .display()
        .to_string()
}

/// `assure demo`.
pub(super) fn demo(seed: u8, once: bool) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("error"))
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let demo = assure_node::demo::start(seed, &mut std::io::stderr()).await?;
        demo.report(&mut std::io::stdout())?;
        if !once {
            println!("\nRunning until ctrl-c.");
            tokio::signal::ctrl_c().await?;
        }
        eprintln!("stopping the six nodes");
        demo.shutdown().await
    })
}
