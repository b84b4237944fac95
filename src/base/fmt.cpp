// fmt's compiled part (format-inl.h), built once here for every binary.
// Debian ships libfmt only as a shared object, and fmt's header-only mode
// compiled all of it again in each of the ~70 files that format (about 40%
// of their compile time); this file gives the definitions format.h declares
// instead (FMT_FUNC, and its `extern template` locale helpers).
#include <fmt/format-inl.h>
#include <fmt/format.h>

FMT_BEGIN_NAMESPACE
namespace detail {
template auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template auto thousands_sep_impl<wchar_t>(locale_ref) -> thousands_sep_result<wchar_t>;
template auto decimal_point_impl<char>(locale_ref) -> char;
template auto decimal_point_impl<wchar_t>(locale_ref) -> wchar_t;
}  // namespace detail
FMT_END_NAMESPACE
