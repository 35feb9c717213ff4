//! Who may do what, without any web or database type: the roles, the units an account sees,
//! and the actor the layers below the web are given (the web's `auth::Staff` extractor wraps
//! one).

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Phòng Nội vụ: everything, for the whole installation.
    Admin,
    /// A unit's staff: their unit(s) and the units below.
    Unit,
    /// District leaders: read everything, change nothing.
    Viewer,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "unit" => Some(Role::Unit),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Unit => "unit",
            Role::Viewer => "viewer",
        }
    }

    /// The role's name in the interface.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Quản trị (Phòng Nội vụ)",
            Role::Unit => "Cán bộ đơn vị",
            Role::Viewer => "Lãnh đạo (chỉ xem)",
        }
    }
}

/// The units an account may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// These unit ids (the assigned units and everything below them).
    Units(Vec<i32>),
}

impl Scope {
    pub fn contains(&self, unit_id: i32) -> bool {
        match self {
            Scope::All => true,
            Scope::Units(ids) => ids.contains(&unit_id),
        }
    }

    /// The unit ids, or None for every unit.
    pub fn unit_ids(&self) -> Option<&[i32]> {
        match self {
            Scope::All => None,
            Scope::Units(ids) => Some(ids),
        }
    }
}

/// The account acting, as the application and database layers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub account_id: i32,
    pub role: Role,
    pub scope: Scope,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the role may change anything (viewers read only).
    pub fn may_write(&self) -> bool {
        self.role != Role::Viewer
    }
}
