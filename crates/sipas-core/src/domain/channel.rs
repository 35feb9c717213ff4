//! How a response reached the service (`responses.channel`, whose CHECK in migration 1 lists
//! the same codes): the one list of channels the filters, the API, the exports and the pages
//! use.

/// A channel of responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A citizen's own phone, through a desk's QR code (or a one-time code).
    Qr,
    /// The tablet at the desk (`/k/{desk code}`).
    Kiosk,
    /// A web form elsewhere (imported).
    Web,
    /// A paper ballot, typed in by staff.
    Paper,
    /// A face-to-face interview.
    Interview,
    /// A ballot sent by post.
    Post,
    /// A telephone interview.
    Phone,
}

/// Every channel, in the order the filters list them.
pub const ALL: [Channel; 7] = [
    Channel::Qr,
    Channel::Kiosk,
    Channel::Web,
    Channel::Paper,
    Channel::Interview,
    Channel::Post,
    Channel::Phone,
];

/// Every channel's code, in the same order.
pub const CHANNELS: [&str; 7] = ["qr", "kiosk", "web", "paper", "interview", "post", "phone"];

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Qr => "qr",
            Channel::Kiosk => "kiosk",
            Channel::Web => "web",
            Channel::Paper => "paper",
            Channel::Interview => "interview",
            Channel::Post => "post",
            Channel::Phone => "phone",
        }
    }

    pub fn parse(code: &str) -> Option<Channel> {
        ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// The channel's name in the interface.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Qr => "Mã QR (điện thoại)",
            Channel::Kiosk => "Máy tại quầy",
            Channel::Web => "Trang web",
            Channel::Paper => "Phiếu giấy",
            Channel::Interview => "Phỏng vấn trực tiếp",
            Channel::Post => "Bưu chính",
            Channel::Phone => "Điện thoại",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_list_and_the_enum_agree() {
        assert_eq!(ALL.map(Channel::as_str), CHANNELS);
        for c in ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Channel::parse("fax"), None);
    }
}
