//! The Terraform modules under the repository's `modules/`, embedded in the binary so
//! that a generated bundle is self-contained (`DIR/modules/...`) and needs no registry.

macro_rules! module_file {
    ($module:literal, $file:literal) => {
        (
            concat!("modules/", $module, "/", $file),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/modules/",
                $module,
                "/",
                $file
            )),
        )
    };
}

/// (path relative to the bundle, content) of every embedded module file.
pub const FILES: &[(&str, &str)] = &[
    module_file!("iam-role", "README.md"),
    module_file!("iam-role", "main.tf"),
    module_file!("iam-role", "outputs.tf"),
    module_file!("iam-role", "variables.tf"),
    module_file!("iam-role", "versions.tf"),
    module_file!("kms-key", "README.md"),
    module_file!("kms-key", "main.tf"),
    module_file!("kms-key", "outputs.tf"),
    module_file!("kms-key", "variables.tf"),
    module_file!("kms-key", "versions.tf"),
    module_file!("replication-monitoring", "README.md"),
    module_file!("replication-monitoring", "main.tf"),
    module_file!("replication-monitoring", "outputs.tf"),
    module_file!("replication-monitoring", "variables.tf"),
    module_file!("replication-monitoring", "versions.tf"),
    module_file!("s3-bucket", "README.md"),
    module_file!("s3-bucket", "main.tf"),
    module_file!("s3-bucket", "outputs.tf"),
    module_file!("s3-bucket", "variables.tf"),
    module_file!("s3-bucket", "versions.tf"),
    module_file!("s3-replication", "README.md"),
    module_file!("s3-replication", "main.tf"),
    module_file!("s3-replication", "outputs.tf"),
    module_file!("s3-replication", "variables.tf"),
    module_file!("s3-replication", "versions.tf"),
];

/// The files of the named modules.
pub fn files_of<'a>(
    modules: &'a [&'a str],
) -> impl Iterator<Item = (&'static str, &'static str)> + 'a {
    FILES.iter().copied().filter(move |(path, _)| {
        modules.iter().any(|m| {
            path.strip_prefix("modules/")
                .and_then(|p| p.strip_prefix(m))
                .is_some_and(|rest| rest.starts_with('/'))
        })
    })
}
