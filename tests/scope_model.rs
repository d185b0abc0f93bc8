//! The classifier and scope check against a small, obviously-correct
//! reference model, over generated methods × path spellings × encodings ×
//! scopes. The model knows how each path was built; the code only sees the
//! bytes.
use proptest::prelude::*;
use provgate::core::scim::{classify, Action, PathError, Resource};
use provgate::core::scope::{permits, Scope};

/// What the generator put in the id position.
#[derive(Debug, Clone, Copy)]
enum Id {
    Plain,       // "2819c223"
    SafeEscape,  // "a%40b"   — forwarded as is
    Dot,         // "."
    DotDot,      // ".."
    EncodedDots, // "%2e%2E"
    EncodedSlash,
    DoubleEncoded,
    Backslash,
    Semicolon,
    Empty, // "//"
    Control,
    Search, // ".search"
}

impl Id {
    fn text(self) -> &'static str {
        match self {
            Id::Plain => "2819c223",
            Id::SafeEscape => "a%40b",
            Id::Dot => ".",
            Id::DotDot => "..",
            Id::EncodedDots => "%2e%2E",
            Id::EncodedSlash => "a%2Fb",
            Id::DoubleEncoded => "a%252Fb",
            Id::Backslash => "a\\b",
            Id::Semicolon => "a;b",
            Id::Empty => "",
            Id::Control => "a%0Ab",
            Id::Search => ".search",
        }
    }
    fn is_ambiguous(self) -> bool {
        !matches!(self, Id::Plain | Id::SafeEscape | Id::Search)
    }
}

const RESOURCES: &[&str] = &["Users", "Groups", "Devices", "Me", "Bulk", "ServiceProviderConfig", "Schemas", ".search"];
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const SCOPES: &[&str] = &["*", "me", "bulk", "users:read", "users:write", "groups:read", "groups:write", "devices:read", "devices:write"];

fn random_case(s: &str, mask: u64) -> String {
    s.chars().enumerate().map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect()
}

/// The reference: RFC 7644 §3's table, written out case by case.
fn model(method: &str, resource: &str, id: Option<Id>) -> Result<(Resource, Action), &'static str> {
    if id.is_some_and(Id::is_ambiguous) {
        return Err("400");
    }
    let res = match resource {
        "Users" => Resource::Users,
        "Groups" => Resource::Groups,
        "Devices" => Resource::Custom("Devices".into()),
        "Me" => Resource::Me,
        "Bulk" => Resource::Bulk,
        "ServiceProviderConfig" => Resource::ServiceProviderConfig,
        "Schemas" => Resource::Schemas,
        _ => Resource::RootSearch,
    };
    let collection = matches!(res, Resource::Users | Resource::Groups | Resource::Custom(_));
    let action = match (&res, id, method) {
        (_, Some(Id::Search), "POST") if collection => Action::Read,
        (_, Some(Id::Search), _) if collection => return Err("405"),
        (_, None, "GET" | "HEAD") if collection => Action::Read,
        (_, None, "POST") if collection => Action::Write,
        (_, Some(_), "GET" | "HEAD") if collection => Action::Read,
        (_, Some(_), "PUT" | "PATCH" | "DELETE") if collection => Action::Write,
        _ if collection => return Err("405"),
        (Resource::ServiceProviderConfig, None, "GET" | "HEAD") | (Resource::Schemas, _, "GET" | "HEAD") => Action::Read,
        (Resource::Me, None, "GET" | "HEAD") => Action::Read,
        (Resource::Me, None, "POST" | "PUT" | "PATCH" | "DELETE") => Action::Write,
        (Resource::Bulk, None, "POST") => Action::Write,
        (Resource::RootSearch, None, "POST") => Action::Read,
        (Resource::ServiceProviderConfig | Resource::Me | Resource::Bulk | Resource::RootSearch, Some(_), _) => return Err("404"),
        _ => return Err("405"),
    };
    Ok((res, action))
}

/// The reference permission: does any listed scope name exactly this?
fn model_allows(scopes: &[&str], res: &Resource, action: Action) -> bool {
    let has = |s: &str| scopes.contains(&"*") || scopes.contains(&s);
    match res {
        Resource::ServiceProviderConfig | Resource::Schemas | Resource::ResourceTypes => true,
        Resource::Me => has("me"),
        Resource::Bulk => has("bulk"),
        Resource::RootSearch => has("users:read") && has("groups:read"),
        Resource::Users => has(if action == Action::Read { "users:read" } else { "users:write" }),
        Resource::Groups => has(if action == Action::Read { "groups:read" } else { "groups:write" }),
        Resource::Custom(_) => has(if action == Action::Read { "devices:read" } else { "devices:write" }),
    }
}

fn request() -> impl Strategy<Value = (String, &'static str, Option<Id>, String, Vec<&'static str>)> {
    let id = prop_oneof![
        Just(None),
        prop::sample::select(vec![
            Id::Plain, Id::SafeEscape, Id::Dot, Id::DotDot, Id::EncodedDots, Id::EncodedSlash, Id::DoubleEncoded,
            Id::Backslash, Id::Semicolon, Id::Empty, Id::Control, Id::Search,
        ])
        .prop_map(Some),
    ];
    (
        prop::sample::select(METHODS),
        prop::sample::select(RESOURCES),
        any::<u64>(),
        id,
        any::<bool>(),
        prop::sample::subsequence(SCOPES, 0..4),
    )
        .prop_map(|(method, resource, mask, id, trailing, scopes)| {
            let mut path = format!("/{}", random_case(resource, mask));
            if let Some(id) = id {
                path.push('/');
                path.push_str(id.text());
            }
            if trailing {
                path.push('/');
            }
            // "/Users/" with an empty id is just the trailing-slash spelling of "/Users".
            let id = if matches!(id, Some(Id::Empty)) && !trailing { None } else { id };
            (method.to_owned(), resource, id, path, scopes)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn classifier_agrees_with_the_model((method, resource, id, path, _scopes) in request()) {
        let got = classify(&method, &path);
        match model(&method, resource, id) {
            Ok((res, action)) => {
                let req = got.map_err(|e| TestCaseError::fail(format!("{method} {path}: {e:?}")))?;
                // Custom types keep the caller's spelling; their scope name is what matters.
                prop_assert_eq!((req.resource.scope_name(), req.action), (res.scope_name(), action), "{} {}", method, path);
            }
            Err("400") => prop_assert!(matches!(got, Err(PathError::NotCanonical(_))), "{} {}: {:?}", method, path, got),
            Err("404") => prop_assert_eq!(got, Err(PathError::NotFound), "{} {}", method, path),
            Err(_) => prop_assert_eq!(got, Err(PathError::MethodNotAllowed), "{} {}", method, path),
        }
    }

    #[test]
    fn nothing_is_allowed_that_the_model_forbids((method, resource, id, path, scopes) in request()) {
        let parsed: Vec<Scope> = scopes.iter().map(|s| s.parse().unwrap()).collect();
        let types = ["users".to_owned(), "groups".to_owned()];
        if let Ok(req) = classify(&method, &path) {
            let code = permits(&parsed, &req, &types);
            let reference = match model(&method, resource, id) {
                Ok((res, action)) => model_allows(&scopes, &res, action),
                Err(_) => false,
            };
            prop_assert_eq!(code, reference, "{} {} with {:?}", method, path, scopes);
        }
    }
}
