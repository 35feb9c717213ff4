//! Files for people outside the service: response data and printable QR posters.

pub mod csv;
pub mod poster;
