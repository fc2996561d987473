#!/usr/bin/env bash
# Checks the layers of docs/architecture.md on the source tree; the build runs it before it
# compiles anything (CMake target dt_layers_check) and so does scripts/test.sh.
#
#   rank 0  core/util      rank 1  core/net      rank 2  core/graph
#   rank 3  core/calls  |  core/emulator  (siblings: neither may include the other)
#   rank 4  lua            rank 5  src
#
# A file's layer is its folder's; a public header include/dialtone/X.h belongs to the layer of
# the folder that holds X.c. It fails (exit 1, one line per finding) on
#   - an #include of a higher layer or of a sibling layer;
#   - a public header with no X.c anywhere (it would have no layer);
#   - a cycle between modules. A module is a folder's X.c with its X.h (beside it or public).
#     A header with no X.c of its own beside it (emu_internal.h, rt_internal.h) is charged to
#     the modules that define what it declares: a file including it depends on each module
#     whose functions it names. So a shared internal header cannot hide a cycle.
# Usage: scripts/layers.sh [ROOT]   (ROOT: the source tree, default the checkout holding this)
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$root"
exec perl -e '
use strict; use warnings;
my %rank = ("core/util" => 0, "core/net" => 1, "core/graph" => 2, "core/calls" => 3,
            "core/emulator" => 3, "lua" => 4, "src" => 5);
my @dirs = sort keys %rank;
my (@files, %text, @bad);
for my $d (@dirs, "include/dialtone") {
  opendir(my $dh, $d) or next;
  for my $f (sort readdir $dh) {
    next unless $f =~ /\.[ch]$/;
    my $p = "$d/$f";
    open(my $fh, "<", $p) or die "$p: $!";
    local $/; $text{$p} = <$fh>; close $fh;
    push @files, $p;
  }
}
# Where each X.c lives.
my %c_home;
for my $p (@files) { next if $p =~ m{^include/} || $p !~ m{([^/]+)\.c$}; my $b = $1; $c_home{$b} = $p =~ s{/[^/]+$}{}r; }
sub folder_of { my ($p) = @_; if ($p =~ m{^include/dialtone/([^/]+)\.h$}) { return $c_home{$1}; } return $p =~ s{/[^/]+$}{}r; }
sub module_of { my ($p) = @_; my $d = folder_of($p); return undef unless defined $d; (my $b = $p) =~ s{^.*/}{}; $b =~ s{\.[ch]$}{}; return "$d/$b"; }
for my $p (grep { m{^include/} } @files) {
  push @bad, "$p: public header with no .c of the same name in a layer folder (it has no layer)" unless defined folder_of($p);
}
# Functions declared by headers that have no .c of their own: name -> defining module.
my %defined_in;
for my $p (grep { /\.c$/ } @files) {
  while ($text{$p} =~ /^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;{]*\)\s*\{/mg) { $defined_in{$p}{$1} = 1; }
}
sub resolve {
  my ($from, $inc) = @_;
  return "include/$inc" if $inc =~ m{^dialtone/} && exists $text{"include/$inc"};
  my $beside = ($from =~ s{/[^/]+$}{}r) . "/$inc";
  return $beside if exists $text{$beside};
  return undef;
}
my %edge;  # module -> module -> "file includes file"
for my $p (@files) {
  my $mf = module_of($p) or next;
  my $rf = $rank{folder_of($p)};
  while ($text{$p} =~ /^\s*#\s*include\s+"([^"]+)"/mg) {
    my $inc = $1;
    my $t = resolve($p, $inc);
    next unless defined $t;
    my $ft = folder_of($t); next unless defined $ft;
    my $rt = $rank{$ft};
    if ($rt > $rf) { push @bad, "$p includes $t: up from layer $rank{folder_of($p)} (" . folder_of($p) . ") to layer $rt ($ft)"; }
    elsif ($rt == $rf && $ft ne folder_of($p)) { push @bad, "$p includes $t: across sibling layers (" . folder_of($p) . " -> $ft)"; }
    my $mt = module_of($t);
    (my $tb = $t) =~ s{^.*/}{}; $tb =~ s{\.h$}{};
    my $own_c = "$ft/$tb.c";
    if ($t !~ m{^include/} && !exists $text{$own_c}) {
      # A shared internal header: charge the modules whose functions this file names.
      while ($text{$t} =~ /^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;{]*\)\s*;/mg) {
        my $fn = $1;
        next unless $text{$p} =~ /\b\Q$fn\E\s*\(/;
        for my $c (grep { m{^\Q$ft\E/[^/]+\.c$} } keys %defined_in) {
          next unless $defined_in{$c}{$fn};
          my $mc = module_of($c);
          $edge{$mf}{$mc} //= "$p uses $fn of $c (declared in $t)" if $mc ne $mf;
        }
      }
    } elsif ($mt ne $mf) {
      $edge{$mf}{$mt} //= "$p includes $t";
    }
  }
}
# Cycles: Tarjan strongly connected components over the module graph.
my ($index, @stack, %on, %idx, %low) = (0);
my @sccs;
sub strong {
  my ($v) = @_;
  $idx{$v} = $low{$v} = $index++; push @stack, $v; $on{$v} = 1;
  for my $w (sort keys %{ $edge{$v} || {} }) {
    if (!exists $idx{$w}) { strong($w); $low{$v} = $low{$w} if $low{$w} < $low{$v}; }
    elsif ($on{$w}) { $low{$v} = $idx{$w} if $idx{$w} < $low{$v}; }
  }
  if ($low{$v} == $idx{$v}) {
    my @c; my $w;
    do { $w = pop @stack; $on{$w} = 0; push @c, $w; } while ($w ne $v);
    push @sccs, [sort @c] if @c > 1;
  }
}
my %nodes; for my $a (keys %edge) { $nodes{$a} = 1; $nodes{$_} = 1 for keys %{ $edge{$a} }; }
strong($_) for grep { !exists $idx{$_} } sort keys %nodes;
for my $c (@sccs) {
  my %in = map { $_ => 1 } @$c;
  my @why;
  for my $a (@$c) { for my $b (sort keys %{ $edge{$a} }) { push @why, "    $edge{$a}{$b}" if $in{$b}; } }
  push @bad, "include cycle among " . join(", ", @$c) . ":\n" . join("\n", @why);
}
if (@bad) { print STDERR "layers: $_\n" for @bad; printf STDERR "layers: %d finding(s); see docs/architecture.md\n", scalar @bad; exit 1; }
printf "layers: ok (%d files, %d modules, no upward include, no cycle)\n", scalar @files, scalar keys %nodes;
'
