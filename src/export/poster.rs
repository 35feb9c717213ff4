// placeholder until the poster module lands
#[derive(Debug, thiserror::Error)]
#[error("poster")]
pub struct PosterError;
pub struct Poster<'a> {
    pub unit_name: &'a str,
    pub desk_name: &'a str,
    pub url: &'a str,
    pub parent_name: Option<&'a str>,
}
impl Poster<'_> {
    pub fn svg(&self) -> String { String::new() }
    pub fn png(&self, _dpi: u32) -> Result<Vec<u8>, PosterError> { Err(PosterError) }
}
